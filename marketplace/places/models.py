"""Administrative units of both code systems, their lineage across the 2025 reform, aliases and named scopes.

A unit is identified by (system, level, code, valid_from), never by its code alone: codes are reused across
systems (legacy commune 02647 "Phường Kim Tân" is current "Phường Lào Cai") and even across time.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CodeSystem(models.TextChoices):
    CURRENT = "2025", _("Two-level system (from 1 July 2025)")
    LEGACY = "legacy", _("Three-level system (before 1 July 2025)")


class Level(models.TextChoices):
    PROVINCE = "province", _("Province/city")
    DISTRICT = "district", _("District")
    COMMUNE = "commune", _("Commune/ward")


class AdministrativeUnit(models.Model):
    system = models.CharField(_("code system"), max_length=8, choices=CodeSystem.choices)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    code = models.CharField(_("code"), max_length=8, help_text=_("The code with its leading zeros, for example 04672."))
    unit_type = models.CharField(_("type"), max_length=32, help_text=_("Province, City, Commune, Ward, Special zone…"))
    name = models.CharField(_("full name"), max_length=128)
    short_name = models.CharField(_("short name"), max_length=128)
    # Accent-folded "name, parent name" used by search; derived from name on load, never typed.
    search_key = models.CharField(max_length=300, db_index=True, editable=False)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True, help_text=_("The last day it is valid."))
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    legal_basis = models.CharField(_("legal basis"), max_length=300, blank=True)
    source = models.CharField(_("data source"), max_length=120, help_text=_("Data package and version."))

    class Meta:
        verbose_name = _("administrative unit")
        verbose_name_plural = _("administrative units")
        ordering = ["system", "level", "code"]
        constraints = [
            # Two partial indexes rather than nulls_distinct=False, which SQLite does not support: a legacy
            # unit whose start date the source does not give is still unique by its code.
            models.UniqueConstraint(
                fields=["system", "level", "code", "valid_from"],
                condition=models.Q(valid_from__isnull=False),
                name="unit_identity_dated",
            ),
            models.UniqueConstraint(
                fields=["system", "level", "code"],
                condition=models.Q(valid_from__isnull=True),
                name="unit_identity_undated",
            ),
        ]
        indexes = [models.Index(fields=["system", "level", "parent"])]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        return f"{self.name}, {self.parent.short_name}" if self.parent_id and self.parent else self.name

    @property
    def is_current(self) -> bool:
        return self.system == CodeSystem.CURRENT


class SuccessionEvent(models.TextChoices):
    MERGE = "merge", _("Merge")
    SPLIT = "split", _("Split")
    RENAME = "rename", _("Rename")
    RETYPE = "retype", _("Type change")
    RECODE = "recode", _("Code change")
    CONTINUE = "continue", _("No change")


class UnitSuccession(models.Model):
    """One edge of the lineage graph: `predecessor` (wholly or partly) became `successor` on `effective_date`.

    Many-to-many: a merge gives several edges into one successor; a split gives several edges out of one
    predecessor, each flagged partial, because only part of the old area lies in each new unit.
    """

    predecessor = models.ForeignKey(AdministrativeUnit, on_delete=models.CASCADE, related_name="successions")
    successor = models.ForeignKey(AdministrativeUnit, on_delete=models.CASCADE, related_name="predecessions")
    event = models.CharField(max_length=8, choices=SuccessionEvent.choices)
    partial = models.BooleanField(
        default=False, help_text=_("Only part of the old unit's area belongs to the new unit (the old unit was split).")
    )
    effective_date = models.DateField()
    legal_basis = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=120)

    class Meta:
        verbose_name = _("unit succession")
        verbose_name_plural = _("unit successions")
        constraints = [
            models.UniqueConstraint(fields=["predecessor", "successor", "effective_date"], name="succession_once")
        ]

    def __str__(self):
        return f"{self.predecessor} → {self.successor} ({self.event})"


class UnitAlias(models.Model):
    """Another spelling of a unit's name ("Mù Căng Chải" / "Mù Cang Chải", "Hoà" / "Hòa")."""

    unit = models.ForeignKey(AdministrativeUnit, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=128)
    search_key = models.CharField(max_length=300, db_index=True, editable=False)
    source = models.CharField(max_length=120)

    class Meta:
        verbose_name = _("other name")
        verbose_name_plural = _("other names")
        constraints = [models.UniqueConstraint(fields=["unit", "search_key"], name="alias_once")]

    def __str__(self):
        return self.name


class NamedScope(models.Model):
    """A saved set of units, current or legacy ("Old Yên Bái" = legacy province 15), for filters and KPIs.

    Resolved to the current communes it covers through lineage: see selectors.scope_current_communes.
    """

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=160)
    description = models.TextField(_("description"), blank=True)
    units = models.ManyToManyField(AdministrativeUnit, related_name="named_scopes")
    is_shared = models.BooleanField(
        _("shared"), default=False, help_text=_("If set, every user sees it; if not, only its creator does.")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="named_scopes",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("scope")
        verbose_name_plural = _("scopes")
        ordering = ["name"]

    def __str__(self):
        return self.name
