"""fx_badspecs's hook API, broken on purpose."""

raise ImportError("fx_badspecs's hookspecs fail on import on purpose")
