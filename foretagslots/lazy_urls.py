"""An include() whose URLconf is imported when a URL under it is first resolved or one of its
names is reversed, not when the root URLconf loads.

The API's URLconf imports DRF and drf-spectacular (with requests, pygments, uritemplate:
~12 MiB and ~300 modules) to build its router; a web worker serving only the public form and
the staff pages never needs them. Reversing an API name (`reverse("api:case-list")`) still
works anywhere: it imports the URLconf then.
"""

from django.urls import URLResolver
from django.urls.resolvers import RoutePattern
from django.utils.functional import cached_property


class LazyURLResolver(URLResolver):
    @cached_property
    def url_patterns(self):
        patterns = super().url_patterns
        declared = getattr(self.urlconf_module, "app_name", None)
        if declared != self.app_name:
            raise ValueError(
                f"{self.urlconf_name} declares app_name {declared!r}, not {self.app_name!r}"
            )
        return patterns

    def _loaded(self) -> bool:
        return "url_patterns" in self.__dict__

    def _populate(self):
        # The root's _populate() (on the first reverse() of any name) populates every included
        # resolver; this one waits until it is asked for one of its own names.
        if self._loaded():
            super()._populate()

    def _load(self):
        self.url_patterns  # noqa: B018 (imports the URLconf)
        if not self._populated:
            super()._populate()

    @property
    def reverse_dict(self):
        self._load()
        return super().reverse_dict

    @property
    def namespace_dict(self):
        self._load()
        return super().namespace_dict

    @property
    def app_dict(self):
        self._load()
        return super().app_dict

    def _is_callback(self, name):
        self._load()
        return super()._is_callback(name)


def lazy_include(route: str, urlconf: str, namespace: str) -> LazyURLResolver:
    """`path(route, include(urlconf))` for a URLconf with `app_name = namespace`."""
    return LazyURLResolver(
        RoutePattern(route, is_endpoint=False), urlconf, app_name=namespace, namespace=namespace
    )
