"""Optional single sign-on through OpenID Connect (mozilla-django-oidc), off by default.

Turned on by setting OIDC_RP_CLIENT_ID and the OP endpoints (see settings.py and
.env.example). A person signing in is matched by e-mail to an existing, active portal user;
roles and units still come from the portal (groups and Membership), never from the identity
provider. Users are created only when OIDC_CREATE_USER=1, and then without any role.

This module is also the URLconf for /oidc/: the library's views wrapped as
`login_not_required`, since LoginRequiredMiddleware would otherwise send the sign-in itself
to the login page.
"""

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.urls import path
from mozilla_django_oidc import views as oidc_views
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

logger = logging.getLogger(__name__)


class PortalOIDCBackend(OIDCAuthenticationBackend):
    def verify_claims(self, claims) -> bool:
        email = (claims.get("email") or "").strip()
        if not email:
            return False
        # An identity provider that says the address is unverified is not trusted with it.
        return claims.get("email_verified", True) not in (False, "false", "False")

    def filter_users_by_claims(self, claims):
        email = (claims.get("email") or "").strip()
        if not email:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(email__iexact=email, is_active=True)

    def get_or_create_user(self, access_token, id_token, payload):
        user = super().get_or_create_user(access_token, id_token, payload)
        if user is None:
            logger.info("OIDC sign-in refused: no active portal user with that e-mail")
        return user

    def create_user(self, claims):
        if not settings.OIDC_CREATE_USER:
            return None
        user = super().create_user(claims)
        return self.update_user(user, claims)

    def update_user(self, user, claims):
        changed = []
        for field, claim in (("first_name", "given_name"), ("last_name", "family_name")):
            value = (claims.get(claim) or "").strip()[:150]
            if value and not getattr(user, field):
                setattr(user, field, value)
                changed.append(field)
        if changed:
            user.save(update_fields=changed)
        return user


urlpatterns = [
    path(
        "callback/",
        login_not_required(oidc_views.OIDCAuthenticationCallbackView.as_view()),
        name="oidc_authentication_callback",
    ),
    path(
        "authenticate/",
        login_not_required(oidc_views.OIDCAuthenticationRequestView.as_view()),
        name="oidc_authentication_init",
    ),
    path(
        "logout/",
        login_not_required(oidc_views.OIDCLogoutView.as_view()),
        name="oidc_logout",
    ),
]
