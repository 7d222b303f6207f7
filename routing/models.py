"""Routing knowledge that a municipality edits (rules) and the trained models it has built."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RoutingRule(models.Model):
    """How permits go together, as data with the reason the explanation gives.

    - implies: when `area` is among the areas (and one of the cue words is in the text, if
      any are given), `other_area` is added: "beer on the square also needs the square";
    - excludes: when `area` is among the areas and a cue word is in the text, `other_area`
      is removed: "on the company's own ground, no public-space permit";
    - before: when both are among the areas, `other_area` comes first, as that step is
      tried first (the place before what is done there).
    """

    class Kind(models.TextChoices):
        IMPLIES = "implies", _("kräver också")
        EXCLUDES = "excludes", _("utesluter")
        BEFORE = "before", _("prövas efter")

    kind = models.CharField(_("slag"), max_length=16, choices=Kind.choices)
    area = models.ForeignKey(
        "departments.ResponsibilityArea",
        on_delete=models.CASCADE,
        related_name="routing_rules",
        verbose_name=_("när området"),
    )
    other_area = models.ForeignKey(
        "departments.ResponsibilityArea",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("gäller området"),
    )
    cues = models.TextField(
        _("signalord"),
        blank=True,
        help_text=_(
            "Ett ord per rad i grundform. Regeln gäller bara när något av orden finns i texten "
            "(böjningar och sammansättningar räknas). Tomt: alltid."
        ),
    )
    reason = models.CharField(
        _("motivering"),
        max_length=300,
        help_text=_("Visas i förklaringen när regeln används."),
    )
    is_active = models.BooleanField(_("aktiv"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["area__slug", "kind", "pk"]
        verbose_name = _("fördelningsregel")
        verbose_name_plural = _("fördelningsregler")

    def __str__(self):
        return f"{self.area.slug} {self.get_kind_display()} {self.other_area.slug}"

    @property
    def cue_list(self) -> list[str]:
        return [line.strip() for line in self.cues.splitlines() if line.strip()]


class TrainedRouter(models.Model):
    """One trained model (routing.model.RouterModel serialised), newest active one in use."""

    version = models.CharField(_("version"), max_length=40, unique=True)
    trained_at = models.DateTimeField(_("tränad"))
    counts = models.JSONField(_("träningsdata"), default=dict)
    scores = models.JSONField(_("korsvaliderat resultat"), default=dict)
    artifact = models.BinaryField()
    is_active = models.BooleanField(_("i bruk"), default=True)

    class Meta:
        ordering = ["-trained_at", "-pk"]
        verbose_name = _("tränad fördelningsmodell")
        verbose_name_plural = _("tränade fördelningsmodeller")

    def __str__(self):
        return self.version
