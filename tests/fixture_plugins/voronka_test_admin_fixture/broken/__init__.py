"""A plugin that cannot be imported: the plugins page must show why, and the app must run without it."""

raise RuntimeError("the admin fixture's broken plugin fails to import on purpose")
