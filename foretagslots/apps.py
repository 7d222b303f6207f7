"""The project package: settings, URLs, middleware and the Celery app that wire the apps."""

from django.apps import AppConfig


class ForetagslotsConfig(AppConfig):
    name = "foretagslots"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from foretagslots.middleware import session_saved_now

        user_logged_in.connect(session_saved_now, dispatch_uid="foretagslots.session_saved_now")
