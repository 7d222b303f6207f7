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
