"""Forms of the producers' wizard: they turn what a person typed into the arguments of the catalogue's
services, with errors in plain words next to the field. The rules themselves stay in the services."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from catalog.documents.models import DocumentType
from catalog.models import NetUnit, ProducerKind
from catalog.ocop.models import IssuingLevel, Star
from catalog.photos.models import PhotoRole

from . import selectors

# "150.000", "150,000", "150 000", "150000", with or without "₫" or "đ": whole đồng only.
_GROUPED = re.compile(r"^\d{1,3}([.,\s]\d{3})+$")


def vnd_parse(text: str) -> int | None:
    cleaned = re.sub(r"\s*(₫|đ|đồng|vnd|vnđ)\s*$", "", (text or "").strip(), flags=re.IGNORECASE).strip()
    cleaned = cleaned.replace("\u00a0", " ")
    if cleaned.isdigit():
        return int(cleaned)
    if _GROUPED.match(cleaned):
        return int(re.sub(r"\D", "", cleaned))
    return None


class VndField(forms.Field):
    """A price in whole đồng, typed as people write it: "150.000" or "150000"."""

    widget = forms.TextInput

    def to_python(self, value):
        value = (value or "").strip() if isinstance(value, str) else value
        if value in self.empty_values:
            return None
        amount = vnd_parse(str(value)[:40])
        if amount is None or amount < 1:
            raise ValidationError(_("Write the price in whole đồng, for example 150.000."), code="invalid")
        if amount > 10_000_000_000:
            raise ValidationError(_("This price is too high. Check the number of zeros."), code="max_value")
        return amount

    def prepare_value(self, value):
        if isinstance(value, int):
            return f"{value:,}".replace(",", ".")
        return value

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "inputmode": "numeric", "autocomplete": "off"}


class ProducerForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of producer"), choices=ProducerKind.choices)
    legal_name = forms.CharField(label=_("Name"), max_length=200)
    trade_name = forms.CharField(label=_("Trade name"), max_length=200, required=False)
    representative_name = forms.CharField(label=_("Representative"), max_length=120, required=False)
    phone = forms.CharField(
        label=_("Phone number"), max_length=32, required=False, widget=forms.TextInput(attrs={"type": "tel"})
    )
    address_line = forms.CharField(label=_("House number, village"), max_length=255, required=False)
    place = forms.CharField(
        label=_("Commune"),
        help_text=_("Type the name, for example “tu le”, then pick it. An old commune name is accepted too."),
        required=True,
    )

    def clean_place(self):
        unit = selectors.place_from_value(self.cleaned_data["place"])
        if unit is None:
            raise ValidationError(_("Pick the commune from the list."), code="invalid")
        return unit

    def service_arguments(self) -> dict:
        data = dict(self.cleaned_data)
        data["commune_as_captured"] = data.pop("place")
        return data


class ProductForm(forms.Form):
    """The product and its first package: saved together or not at all."""

    name = forms.CharField(label=_("Product name, as on the label"), max_length=200)
    product_set = forms.TypedChoiceField(label=_("OCOP product set"), coerce=int)
    description = forms.CharField(
        label=_("Description"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    ingredients = forms.CharField(
        label=_("Ingredients"), required=False, max_length=3000, widget=forms.Textarea(attrs={"rows": 2})
    )
    storage = forms.CharField(label=_("How to store it"), required=False, max_length=1000)
    shelf_life_days = forms.IntegerField(label=_("Shelf life (days)"), required=False, min_value=1, max_value=3650)
    net_quantity = forms.DecimalField(label=_("Net quantity"), min_value=0.001, max_digits=10, decimal_places=3)
    net_unit = forms.ChoiceField(label=_("Unit"), choices=NetUnit.choices)
    price_vnd = VndField(label=_("Price (đồng)"), help_text=_("For example 150.000"))
    stock = forms.IntegerField(label=_("In stock"), min_value=0, max_value=10_000_000, initial=0)
    weight_grams = forms.IntegerField(label=_("Shipping weight (g)"), min_value=1, max_value=1_000_000)
    length_cm = forms.IntegerField(label=_("Length (cm)"), min_value=1, max_value=1000)
    width_cm = forms.IntegerField(label=_("Width (cm)"), min_value=1, max_value=1000)
    height_cm = forms.IntegerField(label=_("Height (cm)"), min_value=1, max_value=1000)

    PRODUCT_FIELDS = ("name", "description", "ingredients", "storage", "shelf_life_days")
    SKU_FIELDS = ("net_quantity", "net_unit", "price_vnd", "stock", "weight_grams", "length_cm", "width_cm",
                  "height_cm")  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sets = {s.number: s for s in selectors.product_sets()}
        self.fields["product_set"].choices = [("", "—")] + [(n, f"{n}. {s.name}") for n, s in self.sets.items()]
        for name in ("net_quantity", "stock", "weight_grams", "length_cm", "width_cm", "height_cm",
                     "shelf_life_days"):  # fmt: skip
            self.fields[name].widget.attrs["inputmode"] = "decimal" if name == "net_quantity" else "numeric"

    def product_arguments(self) -> dict:
        data = self.cleaned_data
        arguments = {name: data[name] for name in self.PRODUCT_FIELDS}
        return {**arguments, "product_set": self.sets[data["product_set"]]}

    def sku_arguments(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.SKU_FIELDS}


class PhotoForm(forms.Form):
    role = forms.ChoiceField(label=_("What the photo shows"), choices=PhotoRole.choices, widget=forms.RadioSelect)
    image = forms.FileField(
        label=_("Photo"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )
    alt_text = forms.CharField(label=_("A few words about the photo"), max_length=250, required=False)


class CertificateForm(forms.Form):
    star = forms.ChoiceField(label=_("Star rating"), choices=Star.choices)
    score = forms.IntegerField(label=_("Score"), required=False, min_value=0, max_value=100)
    decision_number = forms.CharField(
        label=_("Decision number"), max_length=60, help_text=_("For example 4894/QĐ-UBND.")
    )
    decision_date = forms.DateField(label=_("Decision date"), widget=forms.DateInput(attrs={"type": "date"}))
    issuing_level = forms.ChoiceField(label=_("Issued by (level)"), choices=IssuingLevel.choices)
    issuing_body = forms.CharField(
        label=_("Issuing body"), max_length=200, help_text=_("For example UBND tỉnh Lào Cai.")
    )
    certificate_number = forms.CharField(label=_("Certificate number"), max_length=60, required=False)
    scan = forms.FileField(
        label=_("Photo or scan of the certificate"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*,application/pdf"}),
    )


class DocumentForm(forms.Form):
    doc_type = forms.ChoiceField(label=_("Kind of paper"), choices=DocumentType.choices)
    file = forms.FileField(
        label=_("Photo or scan of the paper"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/*,application/pdf"}),
    )
    number = forms.CharField(label=_("Number"), max_length=60, required=False)
    issuer = forms.CharField(label=_("Issued by"), max_length=200, required=False)
    expires_on = forms.DateField(label=_("Valid until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
