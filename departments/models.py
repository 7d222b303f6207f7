"""Who handles what: units, their members and the responsibility areas they own."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class DepartmentQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Department(models.Model):
    """A unit (enhet) of the municipality, or a partner organisation that owns matters. Its
    lead(s) are the members with `Membership.Role.LEAD`: the one source of truth."""

    name = models.CharField(_("namn"), max_length=120, unique=True)
    slug = models.SlugField(_("kortnamn"), max_length=80, unique=True)
    email = models.EmailField(_("e-post"), blank=True)
    phone = models.CharField(_("telefon"), max_length=40, blank=True)
    description = models.TextField(_("beskrivning"), blank=True)
    is_active = models.BooleanField(_("aktiv"), default=True)

    objects = DepartmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("enhet")
        verbose_name_plural = _("enheter")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """A user's place in a unit: officer or lead, and whether cases may be routed to them."""

    class Role(models.TextChoices):
        OFFICER = "officer", _("Handläggare")
        LEAD = "lead", _("Enhetschef")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("enhet")
    )
    role = models.CharField(_("roll"), max_length=16, choices=Role, default=Role.OFFICER)
    is_available = models.BooleanField(
        _("tillgänglig"),
        default=True,
        help_text=_("Frånvarande handläggare får inga nya ärenden fördelade."),
    )

    class Meta:
        verbose_name = _("medlemskap")
        verbose_name_plural = _("medlemskap")
        constraints = [
            models.UniqueConstraint(fields=["user", "department"], name="membership_once_per_unit"),
            models.CheckConstraint(
                condition=Q(role__in=["officer", "lead"]), name="membership_role_valid"
            ),
        ]

    def __str__(self):
        return f"{self.user} – {self.department} ({self.get_role_display()})"


class ResponsibilityAreaQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class ResponsibilityArea(models.Model):
    """An ansvarsområde: a kind of matter, owned by exactly one unit."""

    class InsiktArea(models.TextChoices):
        NONE = "", _("Ingår inte i Insikt")
        BYGGLOV = "bygglov", _("Bygglov")
        LIVSMEDEL = "livsmedelskontroll", _("Livsmedelskontroll")
        MILJO = "miljo_halsoskydd", _("Miljö- och hälsoskydd")
        SERVERING = "serveringstillstand", _("Serveringstillstånd")
        BRANDSKYDD = "brandskydd", _("Brandskydd")
        MARK = "markupplatelse", _("Markupplåtelse")
        TOBAK = "folkol_tobak", _("Folköl och tobak")
        UPPHANDLING = "upphandling", _("Upphandling (NUI)")

    slug = models.SlugField(_("kortnamn"), max_length=80, unique=True)
    name = models.CharField(_("namn"), max_length=160)
    name_en = models.CharField(_("namn på engelska"), max_length=160, blank=True)
    description = models.TextField(_("vad området omfattar"), blank=True)
    owner = models.ForeignKey(
        Department,
        verbose_name=_("ägande enhet"),
        on_delete=models.PROTECT,
        related_name="owned_areas",
    )
    consulted = models.ManyToManyField(
        Department,
        verbose_name=_("enheter som brukar tillfrågas"),
        blank=True,
        related_name="consulted_in_areas",
    )
    keywords = models.TextField(
        _("sökord för fördelning"),
        blank=True,
        help_text=_(
            "Ett ord eller uttryck per rad. En rad som börjar med ~ är en svag ledtråd "
            "(t.ex. ~restaurang: verksamheten nämns ofta även i frågor om annat)."
        ),
    )
    first_answer_days = models.PositiveSmallIntegerField(
        _("första svar inom (arbetsdagar)"), default=2
    )
    resolution_days = models.PositiveSmallIntegerField(_("avslut inom (arbetsdagar)"), default=10)
    insikt_area = models.CharField(
        _("Insikt-område"), max_length=32, choices=InsiktArea, blank=True, default=""
    )
    retention_months = models.PositiveSmallIntegerField(
        _("gallras efter (månader från avslut)"), default=36
    )
    is_active = models.BooleanField(_("aktiv"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ResponsibilityAreaQuerySet.as_manager()

    class Meta:
        verbose_name = _("ansvarsområde")
        verbose_name_plural = _("ansvarsområden")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(first_answer_days__gte=1), name="area_first_answer_at_least_one_day"
            ),
            models.CheckConstraint(
                condition=Q(resolution_days__gte=models.F("first_answer_days")),
                name="area_resolution_not_before_first_answer",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def local_name(self) -> str:
        """The name in the language of the request: the English name when the page is in
        English and one is filled in, otherwise the Swedish name."""
        if self.name_en and get_language() == "en":
            return self.name_en
        return self.name

    @property
    def keyword_list(self):
        return [line.strip() for line in self.keywords.splitlines() if line.strip()]
