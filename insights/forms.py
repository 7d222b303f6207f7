from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from insights.models import SCALE

# (field, question, label of 1, label of 6)
NKI_QUESTIONS = [
    (
        "nki_overall",
        _("Hur nöjd är du sammantaget med kommunens service i ditt ärende?"),
        _("mycket missnöjd"),
        _("mycket nöjd"),
    ),
    (
        "nki_expectations",
        _("Hur väl motsvarade servicen dina förväntningar?"),
        _("inte alls"),
        _("helt och hållet"),
    ),
    (
        "nki_ideal",
        _("Tänk dig en perfekt service. Hur nära ett sådant ideal kom kommunens service?"),
        _("långt ifrån"),
        _("mycket nära"),
    ),
]
FACTOR_QUESTIONS = [
    (
        "information",
        _("Information: hur bra var informationen du fick, på webben, i brev och i samtal?"),
        _("mycket dålig"),
        _("mycket bra"),
    ),
    (
        "accessibility",
        _("Tillgänglighet: hur lätt var det att komma i kontakt med rätt handläggare?"),
        _("mycket svårt"),
        _("mycket lätt"),
    ),
    (
        "treatment",
        _("Bemötande: hur blev du bemött av handläggarna?"),
        _("mycket dåligt"),
        _("mycket bra"),
    ),
    (
        "competence",
        _("Kompetens: hur kunniga var handläggarna i det ditt ärende gällde?"),
        _("mycket lite"),
        _("mycket"),
    ),
    (
        "legal_certainty",
        _("Rättssäkerhet: hur väl behandlades ditt ärende enligt lagar och regler, lika för alla?"),
        _("mycket dåligt"),
        _("mycket väl"),
    ),
    (
        "efficiency",
        _("Effektivitet: hur snabb och smidig var handläggningen av ditt ärende?"),
        _("mycket dålig"),
        _("mycket bra"),
    ),
]
CHOICES = [(str(n), str(n)) for n in range(1, SCALE + 1)]


class FeedbackForm(forms.Form):
    comment = forms.CharField(
        label=_("Vill du säga något mer? (frivilligt)"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Skriv inga personnummer eller andra känsliga uppgifter."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, question, low, high in NKI_QUESTIONS + FACTOR_QUESTIONS:
            self.fields[name] = forms.TypedChoiceField(
                label=question,
                choices=CHOICES,
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={
                    "required": _("Inte besvarad."),
                    "invalid_choice": _("Välj ett svar mellan 1 och 6."),
                },
            )
            self.fields[name].low_label = low
            self.fields[name].high_label = high

    def groups(self):
        """The questions as two fieldset groups for the template."""
        return [
            (_("Din helhetsbild"), [self[name] for name, *_rest in NKI_QUESTIONS]),
            (_("Servicens delar"), [self[name] for name, *_rest in FACTOR_QUESTIONS]),
        ]

    def unanswered(self) -> list:
        """The questions left without an answer (each is marked at its question)."""
        return [
            self[name]
            for name, *_rest in NKI_QUESTIONS + FACTOR_QUESTIONS
            if any(error.code == "required" for error in self.errors.as_data().get(name, []))
        ]

    def error_summary(self) -> list[tuple[str, str]]:
        """(anchor, text) for the summary above the form: the questions left unanswered as one
        line leading to the first of them, then any other error."""
        lines = []
        missing = self.unanswered()
        if missing:
            text = ngettext(
                "%(n)d fråga har inget svar. Välj en siffra från 1 till 6 vid den fråga som "
                "är markerad.",
                "%(n)d frågor har inget svar. Välj en siffra från 1 till 6 vid varje fråga som "
                "är markerad.",
                len(missing),
            ) % {"n": len(missing)}
            lines.append((f"{missing[0].auto_id}_0", text))
        missing_names = {field.name for field in missing}
        for field in self:
            if field.name in missing_names:
                continue
            anchor = field.auto_id if field.name == "comment" else f"{field.auto_id}_0"
            lines += [(anchor, f"{field.label}: {error}") for error in field.errors]
        return lines

    def answers(self) -> dict[str, int]:
        return {name: self.cleaned_data[name] for name, *_rest in NKI_QUESTIONS + FACTOR_QUESTIONS}
