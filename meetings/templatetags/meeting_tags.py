from django import template

from meetings.selectors import public_case_meetings as _public_case_meetings

register = template.Library()


@register.simple_tag
def public_case_meetings(case):
    """The company's view of its lots meetings (published minutes and actions only)."""
    return _public_case_meetings(case)
