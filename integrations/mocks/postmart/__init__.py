"""Postmart-like mock marketplace (Shopee Open Platform v2 style). Standalone: imports nothing from the project."""

from .app import create_app

__all__ = ["create_app"]
