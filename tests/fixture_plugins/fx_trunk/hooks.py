from fx_calls import record

from voronka.core.markers import hookimpl


@hookimpl
def startup(app):
    record("startup", "fx_trunk")


@hookimpl
def shutdown(app):
    record("shutdown", "fx_trunk")


@hookimpl
def seed(ctx):
    # B sees what A seeded: seeding runs in dependency order and shares ctx.ids.
    record("seed", "fx_trunk")
    ctx.ids["fx_trunk.saw_root"] = list(ctx.ids.get("fx_root.seeded", []))
