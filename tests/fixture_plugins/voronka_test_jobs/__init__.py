"""jobtest: the fixture plugin of the outbox and job tests.

Its ``on_event`` writes one ``jobtest_effect`` row per event it handles, so a test counts effects; the
payload steers it (``fail`` raises, ``pause_file`` + ``pause`` stop after the work and before the commit,
so a test can kill the process there). Its jobs record every run in ``jobtest_run`` with the process that
ran it, so a test can prove two processes never ran one job at once.
"""

from voronka.core.manifest import Manifest

manifest = Manifest(name="jobtest", label="Job test", version="1.0.0", hook_api=">=1.0,<2")
