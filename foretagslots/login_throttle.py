"""Login throttling beyond django-axes.

Axes locks one username from one client address after LOGIN_FAILURE_LIMIT failures, so one
user's lock-out cannot be caused from another address. Password spraying (a few passwords
tried against many usernames) never trips that lock: failed logins are therefore also counted
per client address across usernames (RATELIMITS["login-failures"]); past it, the address gets
429 on the login form until the window ends. Client addresses come from
foretagslots.ratelimit.client_address (TRUSTED_PROXY_COUNT), as for axes.
"""

import ipaddress

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from foretagslots.ratelimit import client_address, exceeded, hit, too_many_requests

SCOPE = "login-failures"


def axes_client_ip(request) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the real client address behind the trusted proxies (None if
    there is none, which axes stores as unknown)."""
    address = client_address(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def _enabled() -> bool:
    return getattr(settings, "AXES_ENABLED", True)


@receiver(user_login_failed, dispatch_uid="foretagslots.login_throttle")
def count_failed_login(sender, credentials, request=None, **kwargs):
    if request is not None and _enabled():
        hit(SCOPE, client_address(request))


class LoginView(auth_views.LoginView):
    def post(self, request, *args, **kwargs):
        if _enabled():
            blocked, retry_after = exceeded(SCOPE, client_address(request))
            if blocked:
                return too_many_requests(request, retry_after)
        return super().post(request, *args, **kwargs)
