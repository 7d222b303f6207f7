"""Case queries in domain words, composed by selectors and views."""

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone


class CaseQuerySet(models.QuerySet):
    def open(self):
        return self.exclude(status="closed")

    def closed(self):
        return self.filter(status="closed")

    def unowned(self):
        return self.open().filter(owner__isnull=True)

    def overdue(self, today=None):
        today = today or timezone.localdate()
        return self.open().exclude(status="waiting_for_company").filter(due_at__lt=today)

    def first_answer_overdue(self, today=None):
        today = today or timezone.localdate()
        return self.open().filter(first_answered_at__isnull=True, first_answer_due__lt=today)

    def for_list(self):
        return self.select_related("owning_department", "owner", "company", "primary_area")

    def visible_to(self, user):
        """Cases a staff member may see: all for a coordinator; otherwise their units' and
        their own, including units asked to contribute or offered a transfer."""
        from cases.permissions import is_coordinator

        if not user.is_authenticated:
            return self.none()
        if is_coordinator(user):
            return self
        from departments.models import Membership

        my_units = Membership.objects.filter(user=user).values("department_id")
        return self.visible_to_units(my_units, user=user)

    def visible_to_units(self, units, user=None):
        """Cases the given units see: owned by one of them, asked to contribute, or offered
        a transfer (and, with `user`, the user's own). The API scopes its clients with this."""
        from cases.models import CaseDepartment, Transfer

        parts = CaseDepartment.objects.filter(case=OuterRef("pk"))
        mine = Q(owning_department__in=units)
        part_is_mine = Q(department__in=units)
        if user is not None:
            mine |= Q(owner=user)
            part_is_mine |= Q(officer=user)
        return self.filter(
            mine
            | Exists(parts.filter(part_is_mine))
            | Exists(
                Transfer.objects.filter(
                    case=OuterRef("pk"), status="pending", to_department__in=units
                )
            )
        )
