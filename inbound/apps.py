"""E-mail arriving for the portal: companies' replies to their case, and bounces."""

from django.apps import AppConfig


class InboundConfig(AppConfig):
    """E-mail that arrives for the portal: companies' replies and bounces, into their cases."""

    name = "inbound"
    verbose_name = "Inkommande e-post"
