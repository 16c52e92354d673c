"""jobtest2: a second on_event handler, used to show a disabled plugin gets no events."""

from voronka.core.manifest import Manifest

manifest = Manifest(name="jobtest2", label="Job test 2", version="1.0.0", hook_api=">=1.0,<2", requires={"jobtest": ""})
