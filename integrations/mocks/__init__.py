"""Mock marketplaces: standalone servers that stand in for Postmart and Voso (shared/docs/marketplaces.md).

They are somebody else's system: nothing here imports the service, and the service reaches them only over
HTTP through its adapters. Each runs alone with `python -m integrations.mocks.<name> --port N`.
"""
