"""Errors that carry a message meant for a person, never a stack trace."""


class VoronkaError(Exception):
    """Base class: the message is shown to the user or operator as it is."""


class ConfigError(VoronkaError):
    """The deployment's configuration is wrong (file, URL, plugin names)."""


class DatabaseUnavailable(VoronkaError):
    """The database URL is malformed or the server cannot be reached."""


class PendingMigrations(VoronkaError):
    """Core's own schema is behind the code; the server must not start."""


class PluginLoadError(VoronkaError):
    """Raised in strict mode when any plugin failed to load."""


class StaleRecord(VoronkaError):
    """Someone else saved the record after this form was opened (optimistic concurrency)."""


class ValidationError(VoronkaError):
    """Input is wrong; ``errors`` maps a field name to a message the user can act on."""

    def __init__(self, errors: dict[str, str] | str):
        if isinstance(errors, str):
            errors = {"": errors}
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in errors.items()))
