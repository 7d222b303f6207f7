"""Who is calling: an API client identified by its bearer token, either the portal's own
token (`fl_…`) or, when API_OIDC_ISSUER is set, an access token from the municipality's
identity provider (client-credentials grant) naming the client's `oidc_client_id`."""

import functools
import secrets
from datetime import timedelta

from django.conf import settings
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


# Only asymmetric signatures: a token signed with a shared secret or none is refused.
OIDC_ALGORITHMS = ["RS256", "ES256"]
# Seconds of clock difference tolerated between the identity provider and the portal.
OIDC_LEEWAY = 30


def oidc_enabled() -> bool:
    return bool(settings.API_OIDC_ISSUER)


@functools.cache
def jwks_client(url: str, lifespan: int):
    """One client per JWKS URL for the process: it keeps the keys for `lifespan` seconds."""
    import jwt

    return jwt.PyJWKClient(url, cache_keys=True, lifespan=lifespan, timeout=5)


def client_for_jwt(token: str) -> ApiClient | None:
    """The usable client named by a valid access token from the identity provider. (PyJWT and
    the cryptography library, ~8 MiB, are imported only here: in a process that never sees
    such a token, e.g. every web worker when OIDC for the API is off, they are never loaded.)"""
    import jwt

    try:
        keys = jwks_client(settings.API_OIDC_JWKS_URL, settings.API_OIDC_JWKS_CACHE_SECONDS)
        claims = jwt.decode(
            token,
            keys.get_signing_key_from_jwt(token),
            algorithms=OIDC_ALGORITHMS,
            audience=settings.API_OIDC_AUDIENCE,
            issuer=settings.API_OIDC_ISSUER,
            leeway=OIDC_LEEWAY,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.PyJWTError:
        return None
    client_id = claims.get("azp") or claims.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        return None
    candidate = (
        ApiClient.objects.select_related("department").filter(oidc_client_id=client_id).first()
    )
    return candidate if candidate is not None and candidate.is_usable else None


def bearer_token(request) -> str | None:
    header = authentication.get_authorization_header(request).decode("latin-1").split()
    if not header or header[0] != ApiClientAuthentication.keyword:
        return None
    if len(header) != 2:
        raise exceptions.AuthenticationFailed(_("Ange nyckeln efter ”Bearer ”."))
    return header[1]


def is_portal_token(token: str) -> bool:
    return token.startswith("fl_")


class ApiClientAuthentication(authentication.BaseAuthentication):
    """The portal's own token; any other bearer token too while OIDC is off (refused)."""

    keyword = "Bearer"

    def authenticate(self, request):
        token = bearer_token(request)
        if token is None or (oidc_enabled() and not is_portal_token(token)):
            return None
        return self.authenticated(client_for_token(token))

    def authenticated(self, client: ApiClient | None):
        if client is None:
            raise exceptions.AuthenticationFailed(_("Ogiltig eller utgången nyckel."))
        now = timezone.now()
        if client.last_used_at is None or now - client.last_used_at > LAST_USE_PRECISION:
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
            client.last_used_at = now
        return ApiClientUser(client), client

    def authenticate_header(self, request):
        return self.keyword


class OidcClientAuthentication(ApiClientAuthentication):
    """An access token from the municipality's identity provider (only with API_OIDC_ISSUER)."""

    def authenticate(self, request):
        if not oidc_enabled():
            return None
        token = bearer_token(request)
        if token is None or is_portal_token(token):
            return None
        return self.authenticated(client_for_jwt(token))


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


class OidcClientAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.OidcClientAuthentication"
    name = "oidcAccessToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "Om kommunen har aktiverat det: en åtkomsttoken från kommunens "
            "identitetsleverantör (client credentials). / If the municipality has turned it on: "
            "an access token from its identity provider (client-credentials grant).",
        }
