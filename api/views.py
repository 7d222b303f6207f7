"""The API's endpoints: thin, reads through selectors, writes through services."""

import logging
import time

from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api import selectors, services
from api.models import ExternalReference
from api.pagination import NewestFirst, OldestFirst
from api.permissions import (
    CanCreateInquiries,
    CanRead,
    CanSetExternalReferences,
    CanWriteMessages,
    client_of,
)
from api.serializers import (
    AreaSerializer,
    CaseDetailSerializer,
    CaseSerializer,
    EventSerializer,
    ExternalReferenceSerializer,
    InquirySerializer,
    MessageInSerializer,
    MessageSerializer,
    TimelineEntrySerializer,
    UnitSerializer,
)
from cases.models import Case, Message
from cases.selectors import public_timeline

# What the company reads on its tracking page, in one place.
from cases.templatetags.case_tags import _public_text as event_text
from departments.models import Department, ResponsibilityArea

request_log = logging.getLogger("api.requests")

# What a URL may hold: no character the database refuses, no number it cannot store.
SLUG = r"[-a-zA-Z0-9_]{1,80}"
ID = r"[0-9]{1,18}"
MAX_ID = 2**63 - 1


class ApiViewMixin:
    """Logs one line per request: client, method, route, status, time. Never the query
    string, the body or the token, so no personal data reaches the log."""

    permission_classes = [CanRead]

    def initial(self, request, *args, **kwargs):
        request._api_started = time.monotonic()
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        client = client_of(request)
        match = getattr(request, "resolver_match", None)
        started = getattr(request, "_api_started", None)
        request_log.info(
            "api client=%s method=%s route=%s status=%s ms=%s",
            client.pk if client else "-",
            request.method,
            match.view_name if match else "-",
            response.status_code,
            int((time.monotonic() - started) * 1000) if started else "-",
        )
        return response


@csrf_exempt
def not_found(request, *args, **kwargs):
    from django.http import JsonResponse
    from django.utils.translation import gettext as _

    from api.problems import PROBLEM_CONTENT_TYPE, problem_body

    return JsonResponse(
        problem_body(404, _("Adressen finns inte i API:t.")),
        status=404,
        content_type=PROBLEM_CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )


class UnitViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Enheter / Units."""

    serializer_class = UnitSerializer
    pagination_class = OldestFirst
    queryset = Department.objects.all()
    lookup_field = "slug"
    lookup_value_regex = SLUG


class AreaViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Ansvarsområden / Responsibility areas."""

    serializer_class = AreaSerializer
    pagination_class = OldestFirst
    queryset = ResponsibilityArea.objects.select_related("owner")
    lookup_field = "slug"
    lookup_value_regex = SLUG


class CaseFilterSerializer(serializers.Serializer):
    unit = serializers.SlugField(required=False, help_text="Ansvarig enhet / Owning unit (slug)")
    area = serializers.SlugField(required=False, help_text="Område / Area (slug)")
    status = serializers.ChoiceField(choices=Case.Status.choices, required=False)
    changed_since = serializers.DateTimeField(
        required=False, help_text="Ändrade sedan / Changed since (ISO 8601)"
    )


@extend_schema_view(
    list=extend_schema(
        summary="Ärenden / Cases", parameters=[CaseFilterSerializer], responses=CaseSerializer
    ),
    retrieve=extend_schema(summary="Ett ärende / One case", responses=CaseDetailSerializer),
)
class CaseViewSet(
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Ärenden som klientens enhet ser; andra ärenden finns inte (404).
    Cases the client's unit sees; others do not exist (404)."""

    pagination_class = NewestFirst
    lookup_value_regex = ID

    def get_permissions(self):
        wanted = {
            "create": CanCreateInquiries,
            "message_create": CanWriteMessages,
            "external_reference_set": CanSetExternalReferences,
        }.get(self.action, CanRead)
        return [wanted()]

    def get_serializer_class(self):
        return CaseDetailSerializer if self.action == "retrieve" else CaseSerializer

    def get_queryset(self):
        cases = selectors.case_list(client_of(self.request))
        if self.action != "list":
            return cases
        filters = CaseFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        if "unit" in wanted:
            cases = cases.filter(owning_department__slug=wanted["unit"])
        if "area" in wanted:
            cases = cases.filter(case_areas__area__slug=wanted["area"])
        if "status" in wanted:
            cases = cases.filter(status=wanted["status"])
        if "changed_since" in wanted:
            cases = cases.filter(updated_at__gte=wanted["changed_since"])
        return cases

    def _case(self) -> Case:
        """The case in the URL if the client may see it, else 404."""
        return get_object_or_404(
            selectors.cases_visible_to(client_of(self.request)), pk=self.kwargs["pk"]
        )

    @extend_schema(
        summary="Registrera en fråga / Register an inquiry",
        request=InquirySerializer,
        responses={201: CaseDetailSerializer},
    )
    def create(self, request):
        incoming = InquirySerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        case = services.api_inquiry_create(client=client_of(request), inquiry=incoming.to_inquiry())
        # The new case is shown to its creator even where it was routed outside the client's unit.
        case = selectors.with_details(Case.objects.filter(pk=case.pk)).get()
        return Response(CaseDetailSerializer(case).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Ärendets tidslinje som företaget ser den / The public timeline",
        responses=TimelineEntrySerializer(many=True),
    )
    @action(detail=True, methods=["get"], url_path="timeline", pagination_class=None)
    def timeline(self, request, pk=None):
        case = self._case()
        entries = []
        for entry in public_timeline(case):
            if entry.event is not None:
                entries.append(
                    {
                        "type": "event",
                        "created_at": entry.created_at,
                        "kind": entry.event.kind,
                        "text": event_text(entry.event),
                        "message": None,
                    }
                )
            else:
                entries.append(
                    {
                        "type": "message",
                        "created_at": entry.created_at,
                        "kind": entry.message.kind,
                        "text": entry.message.get_kind_display(),
                        "message": MessageSerializer(entry.message).data,
                    }
                )
        return Response(TimelineEntrySerializer(entries, many=True).data)

    @extend_schema(
        summary="Meddelanden med företaget / Messages with the company",
        responses=MessageSerializer(many=True),
    )
    @action(detail=True, methods=["get"], url_path="messages", pagination_class=None)
    def messages(self, request, pk=None):
        case = self._case()
        rows = case.messages.exclude(kind=Message.Kind.INTERNAL).exclude(is_confidential=True)
        return Response(MessageSerializer(rows, many=True).data)

    @extend_schema(
        summary="Skriv ett meddelande / Post a message",
        request=MessageInSerializer,
        responses={201: MessageSerializer},
    )
    @messages.mapping.post
    def message_create(self, request, pk=None):
        case = self._case()
        incoming = MessageInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        message = services.api_message_post(
            client=client_of(request), case_id=case.pk, **incoming.validated_data
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Referenser i andra system / References in other systems",
        responses=ExternalReferenceSerializer(many=True),
    )
    @action(detail=True, methods=["get"], url_path="external-references", pagination_class=None)
    def external_references(self, request, pk=None):
        case = self._case()
        rows = ExternalReference.objects.filter(case=case)
        return Response(ExternalReferenceSerializer(rows, many=True).data)

    @extend_schema(
        summary="Ange referens i ett annat system / Set a reference in another system",
        description="En per system: samma system skrivs över. / One per system: replaces.",
        request=ExternalReferenceSerializer,
        responses={200: ExternalReferenceSerializer, 201: ExternalReferenceSerializer},
    )
    @external_references.mapping.post
    def external_reference_set(self, request, pk=None):
        case = self._case()
        incoming = ExternalReferenceSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        row, created = services.external_reference_set(
            client=client_of(request), case_id=case.pk, **incoming.validated_data
        )
        return Response(
            ExternalReferenceSerializer(row).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


@extend_schema_view(
    list=extend_schema(
        summary="Händelser i ordning / Events in order",
        parameters=[
            OpenApiParameter(
                "after",
                OpenApiTypes.INT,
                description="Händelser efter detta id / Events after this id "
                "(e.g. the last event_id a webhook delivered)",
            )
        ],
    )
)
class EventViewSet(ApiViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Alla ändringar i klientens ärenden, äldst först, för diarium och e-arkiv.
    Every change on the client's cases, oldest first, for a registry or an e-archive."""

    serializer_class = EventSerializer
    pagination_class = OldestFirst

    def get_queryset(self):
        events = selectors.events_visible_to(client_of(self.request))
        after = serializers.IntegerField(min_value=0, max_value=MAX_ID, required=False)
        raw = self.request.query_params.get("after")
        if raw not in (None, ""):
            events = events.filter(pk__gt=after.run_validation(raw))
        return events
