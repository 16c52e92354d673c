"""The sales funnel: opportunities, stages and probabilities, board, forecast, products, quotes and orders."""

from voronka.core.manifest import Manifest

manifest = Manifest(
    name="pipeline",
    label="Pipeline",
    version="0.1.0",
    requires={"contacts": ">=0.1"},
    optional={"leads": ">=0.1"},
    description=__doc__ or "",
)
