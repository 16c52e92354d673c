"""Pipeline: the sales funnel. Opportunities move through the ordered stages of a pipeline, each stage
setting how close a deal is to closing and how likely the money is; the board, the deal list, funnel
analytics and the forecast read them; products, quotes and orders make the customer's sales history.
"""

from voronka.core.manifest import Manifest

manifest = Manifest(
    name="pipeline",
    label="Pipeline",
    version="1.0.0",
    hook_api=">=1.2,<2",
    requires={"contacts": ">=1.0"},
    optional={"leads": ">=0.1"},
    description="Opportunities, stages and probabilities, board, forecast, products, quotes and orders.",
)
