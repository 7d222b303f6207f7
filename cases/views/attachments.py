"""Attachments are downloaded only here: the same permissions as the case (staff) or the
company's private link, always as a download, never rendered by the browser."""

from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from cases import selectors
from cases.audit import audit_attachment_downloaded
from cases.models import Attachment
from cases.permissions import get_visible_case_or_404
from cases.services.attachments import attachment_open


def _download(attachment: Attachment) -> FileResponse:
    try:
        handle = attachment_open(attachment)
    except (FileNotFoundError, OSError):
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@require_http_methods(["GET", "HEAD"])
def staff_download(request, reference, pk):
    """For an officer who may see the case; a case outside their reach is a 404."""
    case = get_visible_case_or_404(request.user, reference=reference)
    attachment = Attachment.objects.filter(pk=pk, case=case).first()
    if attachment is None or not attachment.is_available:
        raise Http404
    response = _download(attachment)
    audit_attachment_downloaded(attachment, request.user)
    return response


@login_not_required
@never_cache
@require_http_methods(["GET", "HEAD"])
def public_download(request, token, pk):
    """For the company, through a follower's private link."""
    follower = selectors.follower_by_token(token)
    if follower is None:
        raise Http404
    attachment = selectors.public_attachment(follower, pk)
    if attachment is None:
        raise Http404
    response = _download(attachment)
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
