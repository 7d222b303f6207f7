"""The REST API and signed webhooks for the municipality's other systems."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The REST API and webhooks for the municipality's other systems."""

    name = "api"
    verbose_name = _("API och webhooks")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from api.models import ApiClient, WebhookSubscription
        from api.webhooks import forget_subscriptions, on_case_event_saved
        from cases.models import CaseEvent

        post_save.connect(on_case_event_saved, sender=CaseEvent, dispatch_uid="api.webhooks")
        for model in (ApiClient, WebhookSubscription):
            for signal in (post_save, post_delete):
                signal.connect(
                    forget_subscriptions, sender=model, dispatch_uid=f"api.forget.{model.__name__}"
                )
