from voronka.core.markers import hookimpl
from voronka_test_jobs.models import Effect


@hookimpl
def on_event(session, event):
    if event.name.startswith("jobtest."):
        session.add(Effect(event_id=event.id, handler="jobtest2", name=event.name))
