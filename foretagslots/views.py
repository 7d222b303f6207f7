from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe


@login_not_required
@require_safe
def home(request):
    return render(request, "home.html")


@login_not_required
@require_safe
def accessibility(request):
    return render(request, "accessibility.html")


@login_not_required
@require_safe
def privacy(request):
    return render(request, "privacy.html")


@login_not_required
@require_safe
def health(request):
    """For load balancers: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
