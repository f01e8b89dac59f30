"""Marketplace adapters: one folder per marketplace, one interface (base.py), never the ORM."""
