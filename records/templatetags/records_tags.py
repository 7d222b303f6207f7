from django import template

from cases.permissions import can_act_on_case

register = template.Library()


@register.simple_tag(takes_context=True)
def may_mark_confidential(context, case) -> bool:
    """Whether the current user may change the case's secrecy marking."""
    request = context.get("request")
    return bool(request and can_act_on_case(request.user, case))
