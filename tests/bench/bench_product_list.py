"""Benchmark: the product list on PostgreSQL with 100,000 products, against the equivalent raw SQL.

    make bench-products          # needs PostgreSQL; creates (or reuses) the database ocop_bench_products

For two viewers (a superuser, who sees everything, and an officer of the new Lào Cai, whose scope goes
through lineage and the one scoping mechanism), it reports the SQL queries per page for 5 and 50 items
(constant means no N+1), and the median time of a 50-item page through the whole API (middleware,
authentication, scoping, filters, serialisation to JSON) as a ratio to the same rows fetched with hand-written
SQL in the same run. Target: at most 3x. A benchmark, not a test: absolute times on a shared machine are noisy.
"""

import os
import statistics
import sys
import tempfile
import time
from functools import partial

TOTAL_PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", "100000"))
RUNS = int(os.environ.get("BENCH_RUNS", "25"))
DB_NAME = os.environ.get("BENCH_DB_NAME", "ocop_bench_products")


def _database_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_NAME}")
    import psycopg

    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone():
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    return url


def _fill(total: int) -> None:
    """100,000 products of 10,000 producers spread over every current commune, one package each."""
    from django.db import connection, transaction

    from catalog.models import Producer, Product, ProductSet, Sku
    from marketplace.places.models import AdministrativeUnit

    existing = Product.objects.count()
    if existing >= total:
        return
    communes = list(AdministrativeUnit.objects.filter(system="2025", level="commune").order_by("code"))
    sets = list(ProductSet.objects.order_by("number"))
    producers_wanted = total // 10
    with transaction.atomic():
        producers = [
            Producer(kind="cooperative", legal_name=f"Hợp tác xã số {i}", search_key=f"hop tac xa so {i}",
                     commune_as_captured=communes[i % len(communes)], current_commune=communes[i % len(communes)],
                     captured_on="2025-08-01")
            for i in range(Producer.objects.count(), producers_wanted)
        ]  # fmt: skip
        Producer.objects.bulk_create(producers, batch_size=5000)
        producer_ids = list(Producer.objects.order_by("pk").values_list("pk", flat=True))
        for start in range(existing, total, 5000):
            batch = [
                Product(producer_id=producer_ids[i % len(producer_ids)], name=f"Chè Shan tuyết {i:06d}",
                        search_key=f"che shan tuyet {i:06d}", product_set=sets[i % len(sets)],
                        kind="service" if sets[i % len(sets)].is_service else "goods",
                        origin_commune=communes[i % len(communes)], description="Chè ngon.")
                for i in range(start, min(start + 5000, total))
            ]  # fmt: skip
            Product.objects.bulk_create(batch)
            Sku.objects.bulk_create(
                Sku(product=p, net_quantity=200, net_unit="g", weight_grams=300, length_cm=10, width_cm=8,
                    height_cm=6, price_vnd=150000 + (p.pk % 50) * 1000, stock=10)
                for p in batch
            )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


RAW_PAGE = """
SELECT p.id, p.name, p.kind, p.description, p.ingredients, p.storage, p.shelf_life_days, p.brand, p.status,
       p.created_at, p.updated_at, pr.id, pr.legal_name, pr.trade_name, pr.kind,
       ps.id, ps.version, ps.number, ps.name, ps.group_number, ps.group_name, ps.is_service,
       u.system, u.level, u.code, u.unit_type, u.name, u.short_name, up.short_name
FROM catalog_product p
JOIN catalog_producer pr ON pr.id = p.producer_id
JOIN catalog_productset ps ON ps.id = p.product_set_id
LEFT JOIN places_administrativeunit u ON u.id = p.origin_commune_id
LEFT JOIN places_administrativeunit up ON up.id = u.parent_id
WHERE {where}
ORDER BY p.name, p.id
LIMIT 50 OFFSET %s
"""
RAW_SKUS = """
SELECT id, product_id, code, net_quantity, net_unit, weight_grams, length_cm, width_cm, height_cm, price_vnd,
       stock, gtin, updated_at
FROM catalog_sku WHERE product_id = ANY(%s) ORDER BY product_id, price_vnd, id
"""


def _raw(where: str, params: list, offset: int) -> int:
    # `where` is one of this file's two constant conditions, never input: formatting it in is safe.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM catalog_product p WHERE {where}", params)  # noqa: S608
        cursor.fetchone()
        cursor.execute(RAW_PAGE.format(where=where), [*params, offset])
        rows = cursor.fetchall()
        cursor.execute(RAW_SKUS, [[row[0] for row in rows]])
        cursor.fetchall()
    return len(rows)


def _median(fn) -> float:
    fn()  # warm up
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    os.environ["DATABASE_URL"] = _database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="ocop-bench-"))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from marketplace.accounts.models import Role, User
    from marketplace.accounts.services import role_assignment_create
    from marketplace.places.models import AdministrativeUnit
    from marketplace.places.selectors import units_current_communes
    from tests.bench.report import record

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    call_command("load_admin_units", verbosity=0)
    call_command("load_catalog_reference", verbosity=0)
    started = time.perf_counter()
    _fill(TOTAL_PRODUCTS)
    print(f"data: {TOTAL_PRODUCTS} products ready in {time.perf_counter() - started:.0f} s")

    root, _ = User.objects.get_or_create(username="bench-root", defaults={"is_superuser": True, "is_staff": True})
    officer, created = User.objects.get_or_create(username="bench-officer")
    new_lao_cai = AdministrativeUnit.objects.get(system="2025", level="province", code="15")
    if created:
        role_assignment_create(user=officer, role=Role.OFFICER, units=[new_lao_cai])
    communes = list(units_current_communes(units=[new_lao_cai]).values_list("pk", flat=True))

    viewers = {
        "superuser (all 100,000)": (root, "TRUE", []),
        # The scoping rule's conditions (catalog/selectors.py), written by hand: the officer's own producers,
        # producers whose current or captured commune is in the area, or whose captured legacy commune was
        # split into it.
        "officer of new Lào Cai": (
            officer,
            "p.producer_id IN (SELECT id FROM catalog_producer WHERE"
            " id IN (SELECT producer_id FROM catalog_producermembership WHERE user_id = %s)"
            " OR current_commune_id = ANY(%s) OR commune_as_captured_id = ANY(%s)"
            " OR (current_commune_id IS NULL AND commune_as_captured_id IN"
            "     (SELECT predecessor_id FROM places_unitsuccession WHERE successor_id = ANY(%s))))",
            [officer.pk, communes, communes, communes],
        ),
    }
    print(f"database: PostgreSQL; runs per measurement: {RUNS}")
    for label, (user, where, params) in viewers.items():
        client = Client()
        client.force_login(user)
        total = client.get("/api/v1/products/", {"page_size": 1}).json()["count"]
        middle_page = max(1, total // 100)
        queries = []
        for size in (5, 50):
            with CaptureQueriesContext(connection) as captured:
                assert client.get("/api/v1/products/", {"page_size": size}).status_code == 200
            queries.append(len(captured))
        viewer = f"{label.split(' (')[0]} ({total:,} visible)"
        record(bench="product list", figure=f"{viewer}: queries per page, 5 / 50 items",
               value=f"{queries[0]} / {queries[1]}", target="equal (no N+1)", met=queries[0] == queries[1])  # fmt: skip
        for page in (1, middle_page):
            api = _median(partial(client.get, "/api/v1/products/", {"page_size": 50, "page": page}))
            raw = _median(partial(_raw, where, params, (page - 1) * 50))
            print(
                f"{label}: {total} visible; queries per page 5 items {queries[0]}, 50 items {queries[1]}; "
                f"page {page}: API {api * 1000:.1f} ms, raw SQL {raw * 1000:.1f} ms, ratio {api / raw:.2f}x"
            )
            record(bench="product list", figure=f"{viewer}: page {page}, 50 items, API median", value=api * 1000,
                   unit="ms", peer=raw * 1000, peer_label="raw SQL", target="≤ 3×", met=api / raw <= 3)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
