from django import template

from meetings.selectors import public_case_meetings as _public_case_meetings
from meetings.selectors import staff_case_meetings as _staff_case_meetings

register = template.Library()


@register.simple_tag
def public_case_meetings(case):
    """The company's view of its lots meetings (published minutes and actions only)."""
    return _public_case_meetings(case)


@register.simple_tag
def staff_case_meetings(case):
    """The meetings about a case, for its page in the workspace."""
    return _staff_case_meetings(case)
