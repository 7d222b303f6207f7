"""Cursor pagination: stable pages however many rows arrive meanwhile."""

from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination


class NewestFirst(CursorPagination):
    ordering = "-pk"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def decode_cursor(self, request):
        """A cursor whose position is not an id is as invalid as one that does not decode
        (the database would otherwise be asked to compare an id with any text)."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            position = str(cursor.position)
            if not (position.isascii() and position.isdigit() and len(position) <= 18):
                raise NotFound(self.invalid_cursor_message)
        return cursor


class OldestFirst(NewestFirst):
    ordering = "pk"
