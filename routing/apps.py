"""Which responsibility areas a company's question concerns and which unit owns it: the trained
router, its rules and its explanation."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = _("Fördelning")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from routing.areas import forget_areas
        from routing.rules import invalidate

        for signal in (post_save, post_delete):
            signal.connect(
                invalidate, sender="routing.RoutingRule", dispatch_uid=f"routing-{signal}"
            )
            for model in ("departments.ResponsibilityArea", "departments.Department"):
                signal.connect(forget_areas, sender=model, dispatch_uid=f"areas-{model}-{signal}")
