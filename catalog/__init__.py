"""Producers, products and SKUs, documents, photos, OCOP certificates, GIs and channel readiness (issue 3+)."""
