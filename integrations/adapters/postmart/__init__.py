"""The Postmart-like marketplace (Shopee Open Platform v2 style): marketplaces.md §2 and §5."""
