"""The officers' dashboard in a real browser at a desk (1280×800): an officer of old Yên Bái signs in, opens the KPI
of the saved scope "Yên Bái cũ" for 2024, sees the tiles, the charts drawn by Chart.js beside their tables and the
breakdown by commune, changes the period through htmx and opens a commune. Each step is screenshotted into the
artifacts folder. Committed data (transaction=True): live_server serves it."""

import json
import re
from datetime import date

import pytest
from playwright.sync_api import expect

from kpi.rollups import kpi_refresh
from marketplace.places.models import CodeSystem, Level, NamedScope
from tests.factories import PASSWORD, current_commune, producer, unit
from tests.kpi.conftest import a_maker, listing, ocop_product, officer_of, sale

from .conftest import PAGE_WEIGHT, vi

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_kpi_cache(settings):
    settings.KPI_CACHE_SECONDS = 0


def sold_in_2024(product, channel="postmart"):
    on = listing(product, channel, [("live", date(2024, 2, 1))], confirmed=date(2024, 12, 30))
    sale(on, sold=date(2024, 9, 9))


def test_an_officer_reads_the_kpi_of_old_yen_bai_at_a_desk(desk_page, live_server, artifacts):
    page = desk_page
    shot = iter(range(1, 100))

    def screenshot(step: str) -> None:
        page.screenshot(path=artifacts / f"{next(shot):02d}-{step}.png", full_page=True)

    # given four OCOP products of old Yên Bái, two of them online with sales in 2024, and its officer
    suoi_giang = a_maker("04657", phone="0912345678")
    nam_co = producer(commune_as_captured=current_commune("04462"))
    sold_in_2024(ocop_product("Chè Shan tuyết Suối Giàng", maker=suoi_giang))
    ocop_product("Mật ong Suối Giàng", maker=suoi_giang)
    sold_in_2024(ocop_product("Gạo Séng Cù Nậm Có", maker=nam_co), "voso")
    ocop_product("Gạo nếp Nậm Có", maker=nam_co)
    kpi_refresh()
    officer = officer_of(unit(CodeSystem.LEGACY, Level.PROVINCE, "15"))
    scope = NamedScope.objects.get(slug="old-yen-bai")

    # when the officer opens the dashboard and signs in
    page.goto(f"{live_server.url}/can-bo/", wait_until="load")
    page.get_by_label(vi("Username")).fill(officer.username)
    page.get_by_label(vi("Password")).fill(PASSWORD)
    page.get_by_role("button", name=vi("Sign in")).click()
    page.wait_for_url(re.compile(r"/can-bo/$"))
    page.wait_for_load_state("networkidle")
    weight = page.evaluate(PAGE_WEIGHT)
    total = weight["document"] + sum(r["bytes"] for r in weight["resources"])
    (artifacts / "dashboard-weight.json").write_text(json.dumps({"total_bytes": total, **weight}, indent=2))
    print(f"dashboard: {total} bytes transferred, document {weight['document']}")  # shown with -s
    # and asks for "Yên Bái cũ", 2024, with the keyboard only
    page.get_by_label(vi("Saved scope")).select_option(label="Yên Bái cũ")
    page.get_by_label(vi("Year")).select_option("2024")
    page.get_by_label(vi("Quarter or month")).focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name=vi("Show"))).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"scope={scope.pk}&.*year=2024&part=$"))  # htmx pushes the question to the address
    expect(page.locator("#answer-title")).to_contain_text("Yên Bái cũ")
    page.wait_for_function("() => document.querySelectorAll('#results canvas').length === 2 && window.Chart "
                           "&& Chart.getChart('funnel-chart') && Chart.getChart('trend-chart')")  # fmt: skip
    screenshot("dashboard")

    # then the tiles show 2 of 4 products online with sales
    expect(page.locator("#tile-rate")).to_have_text(re.compile(r"^50[,.]0 %$"))
    expect(page.locator("#tile-products")).to_have_text("4")
    expect(page.locator("#tile-online")).to_have_text("2")
    # and both charts are drawn, visible beside their tables
    for canvas in ("#funnel-chart", "#trend-chart"):
        expect(page.locator(canvas)).to_be_visible()
        assert page.locator(canvas).bounding_box()["height"] > 100
    expect(page.locator("#funnel-table tbody tr")).to_have_count(6)
    expect(page.locator("#trend-table tbody tr")).to_have_count(12)
    # and the breakdown by commune lists the two current communes
    rows = page.locator("#breakdown-commune tbody tr")
    expect(rows).to_have_count(2)
    page.locator("#breakdown-commune").scroll_into_view_if_needed()
    screenshot("breakdown")
    # and the gap list says why, with the phone of the producer
    gaps = page.locator("#gap-table tbody tr")
    expect(gaps).to_have_count(2)
    expect(page.locator("#gap-table")).to_contain_text("+84912345678")
    page.locator("#gaps").scroll_into_view_if_needed()
    screenshot("gaps")

    # when the officer asks for the third quarter instead (htmx swaps the results)
    page.get_by_label(vi("Quarter or month")).select_option("Q3")
    page.get_by_role("button", name=vi("Show")).click()
    page.wait_for_url(re.compile(r"year=2024&part=Q3"))
    expect(page.locator("#trend-table tbody tr")).to_have_count(3)
    page.wait_for_function("() => Chart.getChart('trend-chart') !== undefined")
    screenshot("quarter")

    # and opens a commune of the breakdown
    page.locator("#breakdown-commune a", has_text="Nậm Có").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Nậm Có")
    expect(page.locator("main")).to_contain_text("Gạo Séng Cù Nậm Có")
    screenshot("commune")

    assert sorted(p.name for p in artifacts.glob("*.png")) == [
        "01-dashboard.png", "02-breakdown.png", "03-gaps.png", "04-quarter.png", "05-commune.png",
    ]  # fmt: skip
