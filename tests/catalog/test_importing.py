"""An officer's bulk import of producers and products: dry run, row errors, all or nothing, reuse, undo."""

import io
from datetime import date

import pytest
from openpyxl import Workbook

from catalog.importing import catalog_import, catalog_import_undo
from catalog.models import CatalogImport, Producer, Product, Sku
from catalog.ocop.services import ocop_certificate_create
from marketplace.accounts.models import Role
from marketplace.core.errors import ServiceError
from marketplace.places.models import CodeSystem, Level
from tests.factories import unit, user_with_role

pytestmark = pytest.mark.django_db

HEADER = ("Tên cơ sở,Loại chủ thể,Mã xã,Hệ mã,Số điện thoại,Mã số thuế,Tên sản phẩm,Bộ sản phẩm,Định lượng,"
          "Đơn vị,Giá bán,Khối lượng đóng gói (g),Dài (cm),Rộng (cm),Cao (cm)")  # fmt: skip
HONEY = "HTX Mật ong Suối Giàng,Hợp tác xã,04657,cũ,0912345678,,Mật ong bạc hà,4,500,g,280.000,650,10,10,15"
HONEY_BIG = "HTX Mật ong Suối Giàng,Hợp tác xã,04657,cũ,0912345678,,Mật ong bạc hà,4,1,kg,520.000,1200,12,12,18"
TEA = "Hộ ông Giàng A Sình,hộ gia đình,04657,legacy,,,Chè Shan tuyết,1,200,gam,150000,300,10,8,6"


def officer():
    return user_with_role(Role.OFFICER, units=[unit(CodeSystem.LEGACY, Level.PROVINCE, "15")])


def csv_file(*rows: str) -> bytes:
    return "\n".join([HEADER, *rows]).encode()


def test_a_dry_run_reports_what_would_be_made_and_saves_nothing():
    # given
    user = officer()

    # when
    report = catalog_import(user=user, data=csv_file(HONEY, HONEY_BIG, TEA), dry_run=True)

    # then two producers, two products and three packages would be made; nothing is
    assert report.valid and report.rows == 3
    assert (report.producers_created, report.products_created, report.skus_created) == (2, 2, 3)
    assert not Producer.objects.exists() and not CatalogImport.objects.exists()


def test_every_wrong_row_is_named_with_its_column_and_nothing_is_saved():
    # given one good row and three wrong ones
    user = officer()
    wrong_set = TEA.replace(",1,200,", ",99,200,")
    wrong_price = HONEY.replace("280.000", "hai trăm nghìn")
    elsewhere = TEA.replace("04657", "00001").replace("Giàng A Sình", "Lò Văn Pả").replace(",legacy,", ",current,")

    # when
    report = catalog_import(user=user, data=csv_file(HONEY, wrong_set, wrong_price, elsewhere), dry_run=False)

    # then
    errors = {(e.row, e.field) for e in report.errors}
    assert (3, "product_set") in errors and (4, "price_vnd") in errors
    assert (5, "commune_code") in errors
    assert not Producer.objects.exists() and not Product.objects.exists() and not CatalogImport.objects.exists()


def test_a_missing_column_and_an_unreadable_file_are_refused_clearly():
    # given
    user = officer()
    without_price = "\n".join([HEADER.replace(",Giá bán", ""), HONEY.replace(",280.000", "")]).encode()

    # when
    report = catalog_import(user=user, data=without_price, dry_run=True)
    with pytest.raises(ServiceError) as unreadable:
        catalog_import(user=user, data=b"\xff\xfe\x00garbage", dry_run=True)

    # then
    assert [(e.row, e.field) for e in report.errors] == [(1, "price_vnd")]
    assert unreadable.value.fields == {"file": [str(unreadable.value.message)]}


def test_an_xlsx_import_registers_producers_products_and_packages_and_a_second_one_reuses_them():
    # given a workbook of three rows
    user = officer()
    book = Workbook()
    for line in (HEADER, HONEY, HONEY_BIG, TEA):
        book.active.append(line.split(","))
    data = io.BytesIO()
    book.save(data)

    # when it is imported, then the same rows again as CSV
    first = catalog_import(user=user, data=data.getvalue(), file_name="htx.xlsx", dry_run=False)
    again = catalog_import(user=user, data=csv_file(HONEY), dry_run=False)

    # then
    assert first.valid and (first.producers_created, first.products_created, first.skus_created) == (2, 2, 3)
    honey = Product.objects.get(name="Mật ong bạc hà")
    assert sorted(Sku.objects.filter(product=honey).values_list("price_vnd", flat=True)) == [280_000, 280_000, 520_000]
    assert honey.producer.phone == "+84912345678" and honey.producer.current_commune is not None
    assert (again.producers_created, again.producers_found, again.products_found) == (0, 1, 1)


def test_the_last_import_is_undone_but_not_once_someone_built_on_it():
    # given two imports by the same officer
    user = officer()
    catalog_import(user=user, data=csv_file(TEA), dry_run=False)
    catalog_import(user=user, data=csv_file(HONEY), dry_run=False)

    # when the last one is undone
    undone = catalog_import_undo(user=user)

    # then its producer and product are gone, the earlier import's stay
    assert undone.undone_at is not None
    assert list(Product.objects.values_list("name", flat=True)) == ["Chè Shan tuyết"]

    # and when a certificate is added to the earlier import's product, it can no longer be undone
    tea = Product.objects.get()
    ocop_certificate_create(product=tea, star="3", decision_number="1/QĐ-UBND", decision_date=date(2025, 3, 1),
                            issuing_level="province", issuing_body="UBND tỉnh Yên Bái")  # fmt: skip
    with pytest.raises(ServiceError) as refused:
        catalog_import_undo(user=user)
    assert refused.value.code == "conflict" and Product.objects.filter(pk=tea.pk).exists()
