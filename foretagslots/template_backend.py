"""Django's template engine, with DRF's tag library imported on its first `{% load %}`.

Django imports every installed app's template tag libraries when the engine starts (the first
page a process renders). DRF's (`rest_framework`, for its browsable API, which the portal does
not serve: the API renders JSON only) imports most of DRF with requests, pygments and
uritemplate (~10 MiB); that would undo serving the API's URLconf lazily
(foretagslots.lazy_urls) in a worker that only renders pages.
"""

from importlib import import_module
from importlib.util import find_spec
from pkgutil import iter_modules

from django.apps import apps
from django.forms import renderers
from django.template.backends import django as django_backend
from django.template.library import import_library

# Tag library packages found by file name and imported when a template loads one of them.
LAZY_TAG_PACKAGES = ("rest_framework.templatetags",)


class _Libraries(dict):
    """The engine's {name: Library}; a lazy one is imported on its first lookup."""

    def __init__(self, loaded, lazy):
        super().__init__(loaded)
        self.lazy = lazy

    def __missing__(self, name):
        if name not in self.lazy:
            raise KeyError(name)
        library = self[name] = import_library(self.lazy[name])
        return library


def _lazy_libraries() -> dict[str, str]:
    found = {}
    for package in LAZY_TAG_PACKAGES:
        spec = find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            for module in iter_modules(spec.submodule_search_locations):
                found[module.name] = f"{package}.{module.name}"
    return found


def _eager_libraries() -> dict[str, str]:
    """django_backend.get_installed_libraries(), skipping (not importing) the lazy packages."""
    candidates = ["django.templatetags"]
    candidates += [f"{config.name}.templatetags" for config in apps.get_app_configs()]
    found = {}
    for candidate in candidates:
        if candidate in LAZY_TAG_PACKAGES:
            continue
        try:
            package = import_module(candidate)
        except ImportError:  # the app has no tag libraries
            continue
        if hasattr(package, "__path__"):
            for path in django_backend.get_package_libraries(package):
                found[path.removeprefix(candidate).lstrip(".")] = path
    return found


class DjangoTemplates(django_backend.DjangoTemplates):
    def __init__(self, params):
        super().__init__(params)
        engine = self.engine
        lazy = {
            name: path for name, path in _lazy_libraries().items() if name not in engine.libraries
        }
        engine.libraries = {**lazy, **engine.libraries}
        engine.template_libraries = _Libraries(engine.template_libraries, lazy)

    def get_templatetag_libraries(self, custom_libraries):
        return {**_eager_libraries(), **custom_libraries}


class FormRenderer(renderers.DjangoTemplates):
    """Django's default form renderer (its own engine for the widget templates), on this
    backend."""

    backend = DjangoTemplates
