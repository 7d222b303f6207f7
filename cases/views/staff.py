"""The officers' workspace."""

from django.shortcuts import render

from cases.models import Case
from cases.permissions import get_visible_case_or_404


def home(request):
    cases = Case.objects.visible_to(request.user).open().for_list()[:50]
    return render(request, "cases/staff/home.html", {"cases": cases})


def case_detail(request, reference):
    case = get_visible_case_or_404(request.user, reference=reference)
    return render(request, "cases/staff/case_detail.html", {"case": case})
