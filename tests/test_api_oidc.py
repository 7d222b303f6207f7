"""API clients calling with an access token from the municipality's identity provider
(OIDC client-credentials grant), next to the portal's own tokens."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.test import Client

from api.authentication import jwks_client
from api.models import ApiClient
from tests.factories import CaseFactory, DepartmentFactory

pytestmark = pytest.mark.django_db

ISSUER = "https://idp.kommun.example/realms/kommun"
AUDIENCE = "foretagslotsen-api"
PROBLEM = "application/problem+json"


class IdentityProvider:
    """A JWKS endpoint on localhost and the key that signs the access tokens."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "key-1"
        self.fetches = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                provider.fetches += 1
                jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(provider.key.public_key()))
                body = json.dumps({"keys": [{**jwk, "kid": provider.kid, "use": "sig"}]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/jwks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, key=None, algorithm="RS256", kid=None, **claims) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "azp": "bygglovssystemet",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(
            payload, key or self.key, algorithm=algorithm, headers={"kid": kid or self.kid}
        )


@pytest.fixture
def idp(settings):
    provider = IdentityProvider()
    settings.API_OIDC_ISSUER = ISSUER
    settings.API_OIDC_JWKS_URL = provider.url
    settings.API_OIDC_AUDIENCE = AUDIENCE
    jwks_client.cache_clear()
    yield provider
    jwks_client.cache_clear()
    provider.server.shutdown()
    provider.server.server_close()


@pytest.fixture
def units():
    return DepartmentFactory(slug="bygglov"), DepartmentFactory(slug="miljo")


def oidc_client(department, oidc_client_id="bygglovssystemet", **fields) -> ApiClient:
    client = ApiClient(name="Bygglovssystemet", department=department, **fields)
    client.oidc_client_id = oidc_client_id
    client.new_token()
    client.save()
    return client


def api(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def assert_refused(response):
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    assert response.json()["status"] == 401


def test_identity_provider_token_reads_its_units_case_and_not_another_units(idp, units):
    bygglov, miljo = units
    mine = CaseFactory(owning_department=bygglov)
    theirs = CaseFactory(owning_department=miljo)
    client = oidc_client(bygglov)
    http = api(idp.token())

    assert http.get(f"/api/v1/cases/{mine.pk}/").json()["reference"] == mine.reference
    assert http.get(f"/api/v1/cases/{theirs.pk}/").status_code == 404
    listed = [row["reference"] for row in http.get("/api/v1/cases/").json()["results"]]
    assert listed == [mine.reference]
    client.refresh_from_db()
    assert client.last_used_at is not None
    assert idp.fetches == 1, "the identity provider's keys are cached"


def test_client_id_claim_names_the_client_too(idp, units):
    case = CaseFactory(owning_department=units[0])
    oidc_client(units[0], oidc_client_id="diariet")

    response = api(idp.token(azp=None, client_id="diariet")).get(f"/api/v1/cases/{case.pk}/")

    assert response.status_code == 200


def test_a_write_names_the_client_as_with_its_portal_token(idp, units):
    case = CaseFactory(owning_department=units[0])
    oidc_client(units[0], can_set_external_references=True)

    response = api(idp.token()).post(
        f"/api/v1/cases/{case.pk}/external-references/",
        {"system": "bygglov", "reference": "BN 2026-123"},
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    event = case.events.order_by("-pk").first()
    assert event.data["via"]["api_client"] == "Bygglovssystemet"


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "another-api"},
        {"iss": "https://evil.example/"},
        {"exp": int(time.time()) - 600},
        {"nbf": int(time.time()) + 600},
        {"exp": None},
        {"azp": "okant-system"},
        {"azp": None},
    ],
    ids=["audience", "issuer", "expired", "not-yet-valid", "no-expiry", "unknown", "no-client"],
)
def test_a_token_that_does_not_hold_gets_401_as_problem_details(idp, units, claims):
    case = CaseFactory(owning_department=units[0])
    oidc_client(units[0])

    assert_refused(api(idp.token(**claims)).get(f"/api/v1/cases/{case.pk}/"))


def test_a_token_signed_with_another_key_or_a_shared_secret_gets_401(idp, units):
    oidc_client(units[0])
    other_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    for token in (
        idp.token(key=other_rsa),
        idp.token(key=other_rsa, kid="key-2"),
        idp.token(key=ec.generate_private_key(ec.SECP256R1()), algorithm="ES256"),
        idp.token(key="a-shared-secret-that-is-long-enough-for-hs256", algorithm="HS256"),
        jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "azp": "bygglovssystemet"}, None, "none"),
        "not.a.jwt",
        "garbage",
    ):
        assert_refused(api(token).get("/api/v1/cases/"))


def test_inactive_or_expired_client_is_refused(idp, units):
    client = oidc_client(units[0], is_active=False)

    assert_refused(api(idp.token()).get("/api/v1/cases/"))
    client.is_active = True
    client.expires_at = "2020-01-01T00:00:00Z"
    client.save()
    assert_refused(api(idp.token()).get("/api/v1/cases/"))


def test_an_unreachable_identity_provider_is_a_401_not_a_500(idp, units, settings):
    oidc_client(units[0])
    settings.API_OIDC_JWKS_URL = "http://127.0.0.1:9/jwks"

    assert_refused(api(idp.token()).get("/api/v1/cases/"))


def test_portal_token_keeps_working_with_oidc_on(idp, units):
    case = CaseFactory(owning_department=units[0])
    client = ApiClient(name="Diariet", department=units[0])
    token = client.new_token()
    client.save()

    assert api(token).get(f"/api/v1/cases/{case.pk}/").status_code == 200
    assert_refused(api(token + "x").get(f"/api/v1/cases/{case.pk}/"))


def test_with_oidc_off_an_identity_provider_token_is_refused(idp, units, settings):
    case = CaseFactory(owning_department=units[0])
    oidc_client(units[0])
    settings.API_OIDC_ISSUER = ""

    assert_refused(api(idp.token()).get(f"/api/v1/cases/{case.pk}/"))
    assert idp.fetches == 0


def test_admin_saves_the_identity_provider_client_id_and_leaves_others_empty(admin_client, units):
    from tests.test_api import admin_form

    add = "/admin/api/apiclient/add/"
    admin_client.post(add, admin_form(name="Diariet", oidc_client_id=""))
    admin_client.post(add, admin_form(name="Kontaktcenter", oidc_client_id=""))
    admin_client.post(add, admin_form(name="Bygglov", oidc_client_id="bygglovssystemet"))

    saved = dict(ApiClient.objects.values_list("name", "oidc_client_id"))
    assert saved == {"Diariet": None, "Kontaktcenter": None, "Bygglov": "bygglovssystemet"}
    page = admin_client.get(
        f"/admin/api/apiclient/{ApiClient.objects.get(name='Bygglov').pk}/change/"
    )
    assert "bygglovssystemet" in page.content.decode()


def test_schema_documents_both_kinds_of_bearer_token():
    schemes = Client().get("/api/schema/?format=json").json()["components"]["securitySchemes"]

    assert schemes["apiToken"]["scheme"] == "bearer"
    assert schemes["oidcAccessToken"]["bearerFormat"] == "JWT"
