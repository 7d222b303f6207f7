"""Who is calling: an API client identified by its bearer token."""

import secrets
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from api.models import ApiClient, token_hash
from cases.models import TOKEN_SELECTOR_LENGTH

# last_used_at is written at most this often per client, not on every request.
LAST_USE_PRECISION = timedelta(minutes=1)


class ApiClientUser:
    """What DRF sees as `request.user`: the client, never a staff member."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, client: ApiClient):
        self.client = client

    def __str__(self):
        return f"api:{self.client.name}"


def client_for_token(token: str) -> ApiClient | None:
    """The usable client whose token this is; the hash compared in constant time."""
    if not token.startswith("fl_") or not 20 <= len(token) <= 80:
        return None
    candidate = (
        ApiClient.objects.select_related("department")
        .filter(token_selector=token[:TOKEN_SELECTOR_LENGTH])
        .first()
    )
    if candidate is None or not secrets.compare_digest(candidate.token_hash, token_hash(token)):
        return None
    return candidate if candidate.is_usable else None


class ApiClientAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0] != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Ange nyckeln efter ”Bearer ”."))
        client = client_for_token(header[1])
        if client is None:
            raise exceptions.AuthenticationFailed(_("Ogiltig eller utgången nyckel."))
        now = timezone.now()
        if client.last_used_at is None or now - client.last_used_at > LAST_USE_PRECISION:
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
            client.last_used_at = now
        return ApiClientUser(client), client

    def authenticate_header(self, request):
        return self.keyword


class ApiClientAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiClientAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Nyckeln som visades när API-klienten skapades. / "
            "The token shown once when the API client was created.",
        }
