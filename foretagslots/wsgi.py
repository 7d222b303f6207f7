import gc
import os

from django.core.signals import request_finished
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "foretagslots.settings")
application = get_wsgi_application()

# What start-up built (modules, settings, URL patterns, templates' code) lives as long as the
# worker. Frozen, a full garbage collection no longer walks it: without this, about every tenth
# request paid for a scan of ~170 000 objects (the dashboard's p95, bench/README.md).
gc.freeze()

# The first requests build more that lives as long (the routing model, compiled templates,
# cached choices: ~40 000 objects after the first submissions), and a full collection walked
# that too (bench/README.md, "Public submit, third round"). Frozen as well, once, after the
# REFREEZE_AFTER-th request (request_finished: its response has been sent).
REFREEZE_AFTER = 20
_served = 0


def _freeze_what_requests_built(**_kwargs) -> None:
    global _served
    _served += 1
    if _served >= REFREEZE_AFTER:
        request_finished.disconnect(dispatch_uid="foretagslots.wsgi.refreeze")
        gc.collect()  # garbage is not frozen with the rest
        gc.freeze()


request_finished.connect(_freeze_what_requests_built, dispatch_uid="foretagslots.wsgi.refreeze")
