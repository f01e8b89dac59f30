"""Marketplace credentials encrypted at rest (Fernet: AES-128-CBC + HMAC, from the `cryptography` package).

The key comes from CREDENTIALS_KEY (a Fernet key) or, in development, is derived from SECRET_KEY: a database
dump alone then gives no marketplace access. Rotating: MultiFernet accepts several keys, first one encrypts.
"""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


def _fernet() -> MultiFernet:
    keys = [k for k in settings.CREDENTIALS_KEYS if k]
    if not keys:
        derived = hashlib.sha256(f"credentials:{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(derived).decode()]
    return MultiFernet([Fernet(k) for k in keys])


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode() if value else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("credentials cannot be decrypted with the configured CREDENTIALS_KEYS") from exc


class EncryptedJSONField(models.TextField):
    """A dict stored as one Fernet token. Never shown in the admin or logged (its repr is redacted)."""

    def from_db_value(self, value, expression, connection):
        return json.loads(decrypt(value)) if value else {}

    def to_python(self, value):
        if isinstance(value, dict):
            return value
        return json.loads(decrypt(value)) if value else {}

    def get_prep_value(self, value):
        return encrypt(json.dumps(value or {}, sort_keys=True))


class EncryptedTextField(models.TextField):
    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else ""

    def to_python(self, value):
        return value or ""

    def get_prep_value(self, value):
        return encrypt(value or "")
