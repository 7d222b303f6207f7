from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
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
def favicon(request):
    """Browsers ask for /favicon.ico on pages without an icon link (the admin's)."""
    return redirect(static("img/favicon.svg"), permanent=True)


@login_not_required
@require_safe
def health(request):
    """For load balancers: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: the portal's own page instead of Django's bare one. Nothing was saved;
    the link leads back to the page the form was on (the Referer, when it is this site)."""
    back = request.META.get("HTTP_REFERER", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("home")
    response = render(request, "403_csrf.html", {"back_url": back}, status=403)
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def server_error(request):
    """handler500. A lost database (killed connections, a restart, failover) answers a
    Swedish 503 with Retry-After, so that clients and proxies try again; anything else the
    500 page. Neither page touches the database or the session."""
    import sys

    from django.db import InterfaceError, OperationalError

    from foretagslots.middleware import plain_error_page

    if isinstance(sys.exc_info()[1], (OperationalError, InterfaceError)):
        response = plain_error_page("503.html", 503)
        response["Retry-After"] = "30"
        return response
    return plain_error_page("500.html", 500)
