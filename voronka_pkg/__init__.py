"""Voronka: an open-source, plugin-based CRM."""
