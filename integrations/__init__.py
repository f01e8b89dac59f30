"""Channels, listings and the sync engine, marketplace adapters and mocks, orders and payments (issue 5+)."""
