"""Rate limits per API client (HTTP 429 with Retry-After), counted in the Django cache."""

from rest_framework.throttling import SimpleRateThrottle

from foretagslots.ratelimit import parse_rate

DEFAULT_RATE = "600/m"


class ApiClientRateThrottle(SimpleRateThrottle):
    scope = "api_client"

    def get_rate(self):
        return None  # set per request from the client, in allow_request

    def allow_request(self, request, view):
        client = getattr(request.user, "client", None)
        if client is None:
            return True
        try:
            self.num_requests, self.duration = parse_rate(client.rate_limit)
        except ValueError:  # a typo in the admin must not lock the client out, nor let it loose
            self.num_requests, self.duration = parse_rate(DEFAULT_RATE)
        self.rate = client.rate_limit
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": request.user.client.pk}
