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


class _TestWSGI:
    """Django's WSGI handler as the test client runs it: the request's end does not close
    the database connection that holds the test's transaction."""

    handler = WSGIHandler()

    def __call__(self, environ, start_response):
        from django.core.signals import request_finished, request_started
        from django.db import close_old_connections

        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = self.handler(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                response.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


APP = _TestWSGI()


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
