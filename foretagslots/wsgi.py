import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "foretagslots.settings")
application = get_wsgi_application()

# What start-up built (modules, settings, URL patterns, templates' code) lives as long as the
# worker. Frozen, a full garbage collection no longer walks it: without this, about every tenth
# request paid for a scan of ~170 000 objects (the dashboard's p95, bench/README.md).
gc.freeze()
