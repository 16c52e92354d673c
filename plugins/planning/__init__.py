"""Individual plans for every employee, rolled up through managers: plan against actual at any moment.

A plan is a target for one employee, one metric (any enabled plugin's, from the host's ``metrics()``
contract) and one period (a fiscal month, quarter or year). A manager's plan covers them and everyone who
reported to them during the period; the plans of their direct reports are its children, following the
manager hierarchy with its validity dates. Actual and in-progress figures are computed live from each
metric's grouped ``values`` query; nothing is recalculated overnight and nothing is cached.
"""

from voronka.core.manifest import Manifest

manifest = Manifest(
    name="planning",
    label="Planning",
    version="1.0.0",
    hook_api=">=1.2,<2",
    requires={},
    optional={"pipeline": ">=0.1", "leads": ">=0.1", "contacts": ">=0.1", "outlook": ">=0.1"},
    description="Individual plans for every employee, rolled up through the managers; plan against actual.",
)
