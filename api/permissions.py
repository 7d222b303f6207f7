"""What an API client may do: each write needs its own permission, set in the admin."""

from rest_framework.permissions import BasePermission


def client_of(request):
    return getattr(request.user, "client", None)


class _ClientCan(BasePermission):
    flag = "can_read"

    def has_permission(self, request, view):
        client = client_of(request)
        return client is not None and client.can_read and getattr(client, self.flag)


class CanRead(_ClientCan):
    flag = "can_read"


class CanCreateInquiries(_ClientCan):
    flag = "can_create_inquiries"


class CanWriteMessages(_ClientCan):
    flag = "can_write_messages"


class CanSetExternalReferences(_ClientCan):
    flag = "can_set_external_references"
