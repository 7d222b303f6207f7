"""The e-mails' URLconf mounts the same URL modules at the same places as the site's."""

import pytest
from django.urls import NoReverseMatch, URLResolver, get_resolver, reverse

from followup.reminders.mail import mail_urls
from foretagslots import urls, urls_mail


def _mounts(patterns):
    return {
        (str(p.pattern), p.urlconf_name.__name__, p.namespace)
        for p in patterns
        if isinstance(p, URLResolver) and hasattr(p.urlconf_name, "__name__")
    }


def test_every_module_is_mounted_where_the_site_mounts_it():
    mail = _mounts(get_resolver("foretagslots.urls_mail").url_patterns)
    assert len(mail) == len(urls_mail.urlpatterns)
    assert mail <= _mounts(get_resolver(urls.__name__).url_patterns)


def test_links_built_for_mails_are_the_sites_links():
    site = reverse("staff:case_detail", args=["FL-2026-00001"])
    with mail_urls():
        assert reverse("staff:case_detail", args=["FL-2026-00001"]) == site
        with pytest.raises(NoReverseMatch):
            reverse("admin:index")  # not loaded to render a mail
    assert reverse("home") == "/"  # the site's URLconf is back
