from django import forms
from django.utils.translation import gettext_lazy as _

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
                error_messages={"required": _("Välj ett svar mellan 1 och 6.")},
            )
            self.fields[name].low_label = low
            self.fields[name].high_label = high

    def groups(self):
        """The questions as two fieldset groups for the template."""
        return [
            (_("Din helhetsbild"), [self[name] for name, *_rest in NKI_QUESTIONS]),
            (_("Servicens delar"), [self[name] for name, *_rest in FACTOR_QUESTIONS]),
        ]

    def answers(self) -> dict[str, int]:
        return {name: self.cleaned_data[name] for name, *_rest in NKI_QUESTIONS + FACTOR_QUESTIONS}
