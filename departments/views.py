from django.contrib.auth.decorators import login_not_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from departments import selectors


@login_not_required
@require_safe
def responsibility_map(request):
    query = request.GET.get("q", "")[:200]
    areas = selectors.responsibility_map(query=query)
    return render(
        request,
        "departments/map.html",
        {"areas": areas, "query": query, "show_contacts": request.user.is_authenticated},
    )
