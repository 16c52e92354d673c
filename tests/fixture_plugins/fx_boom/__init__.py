"""Broken fixture: raises while being imported."""

raise RuntimeError("fx_boom fails on import on purpose")
