"""Errors as RFC 9457 problem details (application/problem+json)."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

PROBLEM_CONTENT_TYPE = "application/problem+json"


class ProblemJSONRenderer(JSONRenderer):
    media_type = PROBLEM_CONTENT_TYPE


def _titles():
    return {
        400: _("Felaktig begäran"),
        401: _("Inloggning krävs"),
        403: _("Inte tillåtet"),
        404: _("Finns inte"),
        405: _("Metoden stöds inte"),
        406: _("Formatet stöds inte"),
        409: _("Konflikt"),
        415: _("Innehållstypen stöds inte"),
        429: _("För många anrop"),
    }


def problem_body(status_code: int, detail: str, errors=None) -> dict:
    body = {
        "type": "about:blank",
        "title": _titles().get(status_code, _("Fel")),
        "status": status_code,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def problem(status_code: int, detail: str, *, errors=None, headers=None) -> Response:
    return Response(
        problem_body(status_code, detail, errors),
        status=status_code,
        headers=headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def _as_drf(exc):
    """Domain errors from the services, in the API's terms."""
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return exceptions.ValidationError(
                {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
            )
        return exceptions.ValidationError({"non_field_errors": [str(m) for m in exc.messages]})
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    return exc


def problem_exception_handler(exc, context):
    exc = _as_drf(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real server error: Django's 500 handling and logging
    if isinstance(exc, exceptions.ValidationError):
        detail, errors = _("Uppgifterna är inte giltiga."), response.data
        if isinstance(errors, list):
            errors = {"non_field_errors": errors}
    else:
        detail, errors = str(response.data.get("detail", "")), None
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS and "Retry-After" not in response:
        response["Retry-After"] = "60"
    headers = {
        k: v for k, v in response.items() if k in ("Retry-After", "WWW-Authenticate", "Allow")
    }
    return problem(response.status_code, detail, errors=errors, headers=headers)
