from django.urls import path, register_converter

from cases.views import attachments, public


class TokenConverter:
    regex = r"[A-Za-z0-9_\-]{20,64}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(TokenConverter, "token")

app_name = "cases_public"

urlpatterns = [
    path("fraga/", public.ask, name="ask"),
    path("arende/<token:token>/", public.tracking, name="tracking"),
    path("arende/<token:token>/skriv/", public.tracking_message, name="tracking_message"),
    path("arende/<token:token>/bjud-in/", public.tracking_add_follower, name="tracking_follower"),
    path(
        "arende/<token:token>/bilagor/<int:pk>/",
        attachments.public_download,
        name="attachment",
    ),
]
