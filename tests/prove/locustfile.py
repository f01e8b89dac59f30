"""The load run's users (python -m tests.prove.load starts everything and runs locust on this file).

Three kinds of visitors, weighted as a working day might be: people reading the catalogue (the product list
with filters and search, product details, the storefront's pages), producers and community teams uploading
real JPEGs of their products, and officers reading the KPI. What each may touch comes from the JSON file named
by LOAD_FIXTURE, written by load.py after it filled the database (ids, logins); the tokens come from
/api/v1/auth/token/ as any client gets them.

Every request is named "<group>: <what>", so that load.py can report per group (catalogue, photos, kpi, auth)
as well as per endpoint. A request fails on any status but the one expected: a 429 or a 409 is an error too.
"""

import io
import itertools
import json
import os
import random
from pathlib import Path

from gevent.lock import Semaphore
from locust import FastHttpUser, between, task
from PIL import Image, ImageDraw

FIXTURE = json.loads(Path(os.environ["LOAD_FIXTURE"]).read_text(encoding="utf-8"))
PASSWORD = FIXTURE["password"]


def _base_photos(count: int = 6) -> list[bytes]:
    """Phone-like JPEGs of 1600×1200 (about 2 MP): smooth light, hard-edged objects and noise, so that they
    cost the pipeline what a real photo costs. Made once per locust process."""
    photos = []
    for seed in range(count):
        rng = random.Random(seed)
        image = Image.linear_gradient("L").resize((1600, 1200)).convert("RGB")
        draw = ImageDraw.Draw(image)
        for _ in range(40):
            x, y, r = rng.randrange(1600), rng.randrange(1200), rng.randrange(40, 400)
            draw.ellipse([x, y, x + r, y + r], fill=tuple(rng.randrange(256) for _ in range(3)))
        noise = Image.effect_noise((1600, 1200), 24).convert("RGB")
        image = Image.blend(image, noise, 0.15)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=88)
        photos.append(buffer.getvalue())
    return photos


PHOTOS = _base_photos()
_serial = itertools.count()


def unique_jpeg() -> bytes:
    """One of the base photos with a comment segment (COM) of its own after SOI: a valid JPEG whose bytes no
    other upload shares, so that the same-bytes rule (409) never fires, as with real photos."""
    base = random.choice(PHOTOS)
    comment = f"load {os.getpid()} {next(_serial)} {random.random()}".encode()
    return base[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + base[2:]


def multipart(fields: dict[str, str], name: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = f"----load{random.getrandbits(64):016x}"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    body = b"".join(parts) + head + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


_tokens: dict[str, str] = {}
_token_lock = Semaphore()


class ApiUser(FastHttpUser):
    """Users sharing a login share its token, as the tabs of one person do: a token costs a password hash
    (PBKDF2, by design ~0.3 s of CPU), and fifty of them would be a test of the hash, not of the service."""

    abstract = True
    wait_time = between(0.5, 2.0)
    login: list[str] = []

    def on_start(self):
        self.username = random.choice(self.login)
        self.headers = {"Accept-Language": "vi"}
        with _token_lock:
            if self.username not in _tokens:
                with self.client.post(
                    "/api/v1/auth/token/", json={"username": self.username, "password": PASSWORD},
                    name="auth: token", catch_response=True,
                ) as response:  # fmt: skip
                    if response.status_code != 200:
                        response.failure(f"token for {self.username}: {response.status_code} {response.text[:200]}")
                        return
                    _tokens[self.username] = response.json()["token"]
        self.headers["Authorization"] = f"Token {_tokens[self.username]}"

    def get(self, url: str, name: str, expect: int = 200, **params):
        with self.client.get(url, params=params, headers=self.headers, name=name, catch_response=True) as response:
            if response.status_code != expect:
                response.failure(f"{response.status_code}: {response.text[:200]}")


class CatalogueReader(ApiUser):
    """The product list (pages, filters, search), product details, and the public storefront."""

    weight = 6
    login = list(FIXTURE["catalogue"])

    @task(4)
    def product_list(self):
        page_size = random.choice([20, 50])
        pages = max(1, -(-FIXTURE["catalogue"][self.username]["total"] // page_size))
        page = random.randint(1, min(pages, 40))
        self.get("/api/v1/products/", "catalogue: product list", page_size=page_size, page=page)

    @task(3)
    def product_list_filtered(self):
        params = random.choice(FIXTURE["product_filters"])
        self.get("/api/v1/products/", "catalogue: product list, filtered", page_size=20, **params)

    @task(3)
    def product_search(self):
        self.get("/api/v1/products/", "catalogue: product search", q=random.choice(FIXTURE["search_terms"]))

    @task(3)
    def product_detail(self):
        product = random.choice(FIXTURE["catalogue"][self.username]["ids"])
        self.get(f"/api/v1/products/{product}/", "catalogue: product detail")

    @task(2)
    def storefront_home(self):
        params = random.choice([{}, {"page": 2}, {"q": random.choice(FIXTURE["search_terms"])}])
        self.get("/cua-hang/", "catalogue: storefront list", **params)

    @task(2)
    def storefront_product(self):
        product = random.choice(FIXTURE["storefront_product_ids"])
        self.get(f"/cua-hang/san-pham/{product}/", "catalogue: storefront product")


class PhotoUploader(ApiUser):
    """A producer member or a community team uploading phone photos to products they manage."""

    weight = 2
    login = list(FIXTURE["uploaders"])

    @task(3)
    def upload(self):
        product = random.choice(FIXTURE["uploaders"][self.username])
        body, content_type = multipart(
            {"role": random.choice(["front", "in_use", "packaging", "production_area"]), "alt_text": "Ảnh chụp"},
            "image", "IMG_2025.jpg", unique_jpeg(),
        )  # fmt: skip
        with self.client.post(
            f"/api/v1/products/{product}/photos/", data=body, headers={**self.headers, "Content-Type": content_type},
            name="photos: upload", catch_response=True,
        ) as response:  # fmt: skip
            if response.status_code != 202:
                response.failure(f"{response.status_code}: {response.text[:200]}")

    @task(1)
    def photos_of_product(self):
        product = random.choice(FIXTURE["uploaders"][self.username])
        self.get(f"/api/v1/products/{product}/photos/", "photos: list of a product")


class KpiReader(ApiUser):
    """An officer on the dashboard: the KPI, the gaps, the funnel and the trend of their scope."""

    weight = 2
    login = [FIXTURE["kpi_login"]]

    def params(self) -> dict:
        return {"scope": random.choice(FIXTURE["kpi_scopes"]), "period": random.choice(FIXTURE["kpi_periods"])}

    @task(3)
    def online_with_sales(self):
        self.get("/api/v1/kpi/online-with-sales/", "kpi: online-with-sales", **self.params())

    @task(2)
    def gaps(self):
        self.get("/api/v1/kpi/gaps/", "kpi: gaps", page_size=50, **self.params())

    @task(2)
    def funnel(self):
        self.get("/api/v1/kpi/funnel/", "kpi: funnel", **self.params())

    @task(1)
    def trend(self):
        params = self.params()
        year = params.pop("period")[:4]
        period = {"from": f"{year}-01-01", "to": f"{year}-12-31"}
        self.get("/api/v1/kpi/trend/", "kpi: trend", interval="month", **period, **params)
