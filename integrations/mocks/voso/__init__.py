"""Voso-like mock marketplace (Lazada / TikTok / Viettel Post style). Imports nothing from the project."""

from .app import create_app

__all__ = ["create_app"]
