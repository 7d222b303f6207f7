"""`{% plain_field form.x %}`: a form field in Bootstrap 5 markup, built in Python.

What crispy-forms' `as_crispy_field` gives the list's filter form (label, control, help text,
errors tied to the control with aria-describedby), at a fraction of its cost: the list page
renders ten of these on every view.
"""

from django import forms, template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def plain_field(field):
    widget = field.field.widget
    errors = list(field.errors)
    described = []
    if field.help_text:
        described.append(f"{field.auto_id}_helptext")
    error_ids = [f"error_{i}_{field.auto_id}" for i in range(1, len(errors) + 1)]
    described += error_ids
    checkbox = isinstance(widget, forms.CheckboxInput)
    if checkbox:
        css = "form-check-input"
    elif isinstance(widget, forms.Select):
        css = "form-select"
    else:
        css = "form-control"
    attrs = {"class": f"{css} is-invalid" if errors else css}
    if described:
        attrs["aria-describedby"] = " ".join(described)
    control = field.as_widget(attrs=attrs)
    label = format_html(
        '<label for="{}" class="{}">{}</label>',
        field.id_for_label,
        "form-check-label" if checkbox else "form-label",
        field.label,
    )
    help_text = (
        format_html(
            '<div id="{}_helptext" class="form-text">{}</div>', field.auto_id, field.help_text
        )
        if field.help_text
        else ""
    )
    error_html = format_html_join(
        "",
        '<div id="{}" class="invalid-feedback d-block"><strong>{}</strong></div>',
        zip(error_ids, errors, strict=True),
    )
    if checkbox:
        inner = format_html(
            '<div class="form-check">{}{}</div>{}{}', control, label, help_text, error_html
        )
    else:
        inner = format_html("{}{}{}{}", label, control, help_text, error_html)
    return format_html('<div id="div_{}" class="mb-3">{}</div>', field.auto_id, mark_safe(inner))


# --- `{{ form|plain_form }}`: what `{{ form|crispy }}` gives, built in Python -------------

# The widgets plain_form renders itself; a form with any other visible widget (checkboxes,
# radio buttons, multi-widgets) goes to crispy-forms as before.
_PLAIN_WIDGETS = (forms.Textarea, forms.Select, forms.FileInput, forms.widgets.Input)
_NOT_PLAIN = (forms.CheckboxInput, forms.RadioSelect, forms.CheckboxSelectMultiple)


@register.filter
def plain_form(form):
    """The markup of crispy-forms' Bootstrap 5 `|crispy` filter for the action forms of the
    case page (labels with the required mark, Bootstrap classes, help texts and errors tied
    to the control with aria-describedby), without its template per field: the case page
    renders up to nine of these on every view."""
    visible = [field for field in form if not field.is_hidden]
    if any(
        isinstance(f.field.widget, _NOT_PLAIN)
        or not isinstance(f.field.widget, _PLAIN_WIDGETS)
        or isinstance(f.field.widget, forms.MultiWidget)
        for f in visible
    ):
        from crispy_forms.templatetags.crispy_forms_filters import as_crispy_form

        return as_crispy_form(form)
    parts = []
    if form.non_field_errors():
        parts.append(
            format_html(
                '<div class="alert alert-block alert-danger"><ul class="m-0">{}</ul></div>',
                format_html_join("", "<li>{}</li>", ((e,) for e in form.non_field_errors())),
            )
        )
    for field in form:
        parts.append(str(field) if field.is_hidden else _crispy_field(field))
    return mark_safe("".join(parts))


def _crispy_field(field) -> str:
    widget = field.field.widget
    errors = list(field.errors)
    required = field.field.required
    # crispy adds the widget's class name as a CSS class (kept: the same markup).
    own = widget.attrs.get("class", "")
    name = type(widget).__name__.lower()
    css = own if name in own.split() else f"{own} {name}".strip()
    if isinstance(widget, forms.FileInput):
        control = _file_control(field, errors)
    else:
        base = "form-select" if isinstance(widget, forms.Select) else "form-control"
        control = mark_safe(
            field.as_widget(
                attrs={"class": f"{css} {base} is-invalid" if errors else f"{css} {base}"}
            )
            + _help_and_errors(field, errors)
        )
    label = ""
    if field.label:
        label = format_html(
            '<label for="{}" class="form-label{}">{}{}</label>',
            field.id_for_label,
            " requiredField" if required else "",
            field.label,
            mark_safe('<span class="asteriskField">*</span>') if required else "",
        )
    extra = f" {field.css_classes()}" if field.css_classes() else ""
    return format_html(
        '<div id="div_{}" class="mb-3{}">{}{}</div>', field.auto_id, extra, label, control
    )


def _help_and_errors(field, errors) -> str:
    error_html = ""
    if errors:
        error_html = format_html(
            '<div id="{}_error" class="invalid-feedback">{}</div>',
            field.auto_id,
            format_html_join(
                "",
                '<p id="error_{}_{}"><strong>{}</strong></p>',
                ((i, field.auto_id, e) for i, e in enumerate(errors, start=1)),
            ),
        )
    help_html = ""
    if field.help_text:
        help_html = format_html(
            '<div id="{}_helptext" class="form-text">{}</div>',
            field.auto_id,
            mark_safe(field.help_text),  # crispy shows help texts as written (|safe)
        )
    return mark_safe(error_html + help_html)


def _file_control(field, errors) -> str:
    """crispy's field_file.html: the input in a <div>, classes first, then the attributes."""
    rendered = []
    for sub in field.subwidgets:
        data = sub.data
        attrs = data["attrs"]
        css = "form-control"
        if attrs.get("class"):
            css += f" {attrs['class']}"
        if errors:
            css += " is-invalid"
        others = format_html_join(
            "",
            "{}",
            (
                (
                    format_html(" {}", key)
                    if value is True
                    else format_html(' {}="{}"', key, str(value)),
                )
                for key, value in attrs.items()
                if value is not False and key != "class"
            ),
        )
        rendered.append(
            format_html(
                '<div{}><input type="{}" name="{}" class="{}"{}{}>{}</div>',
                mark_safe(' class="is-invalid"') if errors else "",
                data["type"],
                data["name"],
                css,
                mark_safe(" disabled") if field.field.disabled else "",
                others,
                _help_and_errors(field, errors),
            )
        )
    return mark_safe("".join(rendered))
