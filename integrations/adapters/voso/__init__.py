"""The Voso-like marketplace (Lazada / TikTok Shop style): marketplaces.md §3 and §5."""
