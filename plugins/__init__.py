"""Voronka's built-in plugins. Each is registered through the ``voronka.plugins`` entry-point group."""
