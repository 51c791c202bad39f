"""Migrating a prior orchestrator project (docs/migrating.md)."""
