"""Schemathesis over the OpenAPI schema: whatever a client sends, no 5xx, and every
response matches the schema (problem details included)."""

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.models import ApiClient
from tests.factories import CaseFactory, DepartmentFactory

APP = WSGIHandler()


@pytest.fixture
def bearer(db):
    unit = DepartmentFactory(slug="bygglov")
    CaseFactory(owning_department=unit)
    client = ApiClient(
        name="Schemathesis",
        can_create_inquiries=True,
        can_write_messages=True,
        can_set_external_references=True,
        rate_limit="100000/m",
    )
    token = client.new_token()
    client.save()
    return {"Authorization": f"Bearer {token}"}


schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", APP)


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
@pytest.mark.django_db
def test_api_conforms_to_its_schema(case, bearer):
    case.call_and_validate(
        headers=bearer,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
