"""Security: passwords, route markers, permissions and roles, visibility scopes, throttling."""
