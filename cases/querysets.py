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
        from cases.models import CaseDepartment, Transfer
        from departments.models import Membership

        my_units = Membership.objects.filter(user=user).values("department_id")
        return self.filter(
            Q(owner=user)
            | Q(owning_department__in=my_units)
            | Exists(
                CaseDepartment.objects.filter(case=OuterRef("pk")).filter(
                    Q(department__in=my_units) | Q(officer=user)
                )
            )
            | Exists(
                Transfer.objects.filter(
                    case=OuterRef("pk"), status="pending", to_department__in=my_units
                )
            )
        )
