"""The one Alembic environment: core's branch and one branch per installed plugin.

It runs on the connection handed in by :mod:`voronka.core.migrate` (``config.attributes``), inside the
caller's transaction, so a plugin's failed upgrade rolls back as a whole where the engine allows.
"""

from alembic import context

config = context.config
connection = config.attributes["connection"]
metadata = config.attributes["metadata"]
version_table = config.attributes["version_table"]
table_prefix = config.attributes.get("table_prefix")


def include_object(obj, name, type_, reflected, compare_to):
    """When a prefix is set (autogenerating one plugin's revision), look only at that plugin's tables."""
    if table_prefix is None:
        return True
    table = obj if type_ == "table" else getattr(obj, "table", None)
    table_name = name if type_ == "table" else getattr(table, "name", "")
    return bool(table_name) and table_name.startswith(table_prefix)


context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=version_table,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
