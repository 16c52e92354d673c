"""The Voronka application: app factory, shell pages, admin, CLI and the plugin test kit."""
