"""The router: which responsibility areas a company's question concerns, and who owns it.

Public API: `route(subject, text, chosen_area=None) -> RoutingResult`
(see routing.api), importable from here.
"""


def route(subject, text, chosen_area=None):
    from routing.api import route as _route

    return _route(subject, text, chosen_area=chosen_area)
