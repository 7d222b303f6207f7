"""The API's JSON shapes. Field help is in Swedish and English, as the schema shows it."""

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from api.models import ExternalReference
from cases.forms import DESCRIPTION_MAX, SUBJECT_MAX
from cases.models import Case, CaseEvent, Message
from cases.orgnr import normalise_org_number
from cases.phone import clean_phone
from cases.services.intake import Inquiry
from departments.models import Department, ResponsibilityArea


def both(sv: str, en: str) -> str:
    return f"{sv} / {en}"


class UnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["id", "slug", "name", "email", "phone", "is_active"]


class AreaSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text=both("Ägande enhet", "Owning unit")
    )

    class Meta:
        model = ResponsibilityArea
        fields = [
            "id",
            "slug",
            "name",
            "name_en",
            "description",
            "owner",
            "first_answer_days",
            "resolution_days",
            "is_active",
        ]


class ExternalReferenceSerializer(serializers.ModelSerializer):
    system = serializers.CharField(
        max_length=80, help_text=both("Systemets namn, t.ex. Bygglov", "The system, e.g. Bygglov")
    )
    reference = serializers.CharField(
        max_length=120, help_text=both("Ärendets nummer i systemet", "The case's number there")
    )
    url = serializers.URLField(
        max_length=500,
        required=False,
        allow_blank=True,
        help_text=both("Länk till ärendet i systemet", "Link to the case there"),
    )

    class Meta:
        model = ExternalReference
        fields = ["system", "reference", "url", "updated_at"]
        read_only_fields = ["updated_at"]
        validators = []  # (case, system) is an upsert key, not a uniqueness error


class CaseSerializer(serializers.ModelSerializer):
    owning_unit = serializers.SlugRelatedField(
        source="owning_department",
        slug_field="slug",
        read_only=True,
        help_text=both("Ansvarig enhet", "Owning unit"),
    )
    owner_name = serializers.SerializerMethodField(
        help_text=both("Helhetsansvarig handläggare", "Officer with overall responsibility")
    )
    company_name = serializers.CharField(source="company.name", read_only=True)
    primary_area = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    areas = serializers.SerializerMethodField(help_text=both("Områden", "Areas, primary first"))
    external_references = ExternalReferenceSerializer(many=True, read_only=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "subject",
            "status",
            "channel",
            "owning_unit",
            "owner_name",
            "company_name",
            "primary_area",
            "areas",
            "received_at",
            "first_answer_due",
            "due_at",
            "first_answered_at",
            "closed_at",
            "updated_at",
            "needs_triage",
            "external_references",
        ]
        read_only_fields = fields

    def get_owner_name(self, case) -> str:
        return (case.owner.get_full_name() or case.owner.username) if case.owner else ""

    def get_areas(self, case) -> list[str]:
        return [part.area.slug for part in case.case_areas.all()]


class CaseDetailSerializer(CaseSerializer):
    class Meta(CaseSerializer.Meta):
        fields = [
            *CaseSerializer.Meta.fields,
            "description",
            "contact_name",
            "contact_email",
            "contact_phone",
        ]
        read_only_fields = fields


class SlugLookupField(serializers.SlugRelatedField):
    """Looks up only what can be a slug: other text (a NUL byte, say) is "no such" before the
    database is asked."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or not re.fullmatch(r"[-a-zA-Z0-9_]{1,80}", data):
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data)[:80])
        return super().to_internal_value(data)


class InquirySerializer(serializers.Serializer):
    """A new inquiry, registered as the public form registers it and routed the same way."""

    channel = serializers.ChoiceField(
        choices=Case.Channel.choices,
        help_text=both("Hur frågan kom in", "How the inquiry came in"),
    )
    org_number = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        help_text=both("Organisationsnummer, t.ex. 556036-0793", "Organisation number"),
    )
    company_name = serializers.CharField(max_length=200)
    contact_name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    area = SlugLookupField(
        slug_field="slug",
        queryset=ResponsibilityArea.objects.active(),
        required=False,
        allow_null=True,
        help_text=both(
            "Område som företaget valt (en ledtråd, inte ett beslut)",
            "Area the company chose (a hint, not the decision)",
        ),
    )
    subject = serializers.CharField(max_length=SUBJECT_MAX)
    description = serializers.CharField(max_length=DESCRIPTION_MAX)

    def validate_org_number(self, value):
        value = value.strip()
        if not value:
            return ""
        try:
            return normalise_org_number(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None

    def validate_phone(self, value):
        try:
            return clean_phone(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None

    def to_inquiry(self) -> Inquiry:
        data = self.validated_data
        return Inquiry(
            org_number=data.get("org_number", ""),
            company_name=data["company_name"].strip(),
            contact_name=data["contact_name"].strip(),
            email=data["email"],
            phone=data.get("phone", "").strip(),
            area=data.get("area"),
            subject=data["subject"].strip(),
            description=data["description"].strip(),
            channel=data["channel"],
        )


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "kind", "author_name", "body", "is_final_answer", "created_at"]
        read_only_fields = fields


class MessageInSerializer(serializers.Serializer):
    direction = serializers.ChoiceField(
        choices=[("to_company", "to_company"), ("from_company", "from_company")],
        help_text=both(
            "to_company: svar från handläggningen; from_company: vad företaget sagt i en annan "
            "kanal (t.ex. telefon)",
            "to_company: an answer from the unit; from_company: what the company said through "
            "another channel (e.g. the phone)",
        ),
    )
    body = serializers.CharField(max_length=10_000)
    author_name = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text=both("Avsändarens namn (to_company)", "The sender's name (to_company)"),
    )


class TimelineEntrySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=[("event", "event"), ("message", "message")])
    created_at = serializers.DateTimeField()
    kind = serializers.CharField()
    text = serializers.CharField(help_text=both("Beskrivning", "Description"))
    message = MessageSerializer(required=False, allow_null=True)


class EventSerializer(serializers.ModelSerializer):
    case_reference = serializers.CharField(source="case.reference", read_only=True)
    via = serializers.SerializerMethodField(
        help_text=both("API-klient som gjorde ändringen", "API client that made the change")
    )

    class Meta:
        model = CaseEvent
        fields = ["id", "case", "case_reference", "kind", "is_public", "created_at", "via"]
        read_only_fields = fields

    def get_via(self, event) -> str:
        return (event.data or {}).get("via", {}).get("api_client", "")
