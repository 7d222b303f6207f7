"""Documents sent with messages: checked, cleaned, stored outside the public URLs, scanned.

A file is accepted by what its content is (magic bytes, the `filetype` package), never by
its name; images lose their EXIF location; the file goes to the "attachments" storage
(`settings.STORAGES`), and when `CLAMAV_URL` is set it stays quarantined ("granskas") until
clamd has scanned it clean: the worker's relay (beat's "attachment-scan-relay", every
OUTBOX_RELAY_SECONDS) scans new files about a second after the message that brought them.
"""

import hashlib
import io
import logging
import socket
import struct
import time
import unicodedata
import uuid
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlparse

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Attachment, Case, Message

logger = logging.getLogger(__name__)

# Types accepted, by the extension `filetype` infers from the content: PDF, images, office
# documents (Microsoft and OpenDocument), RTF and drawings (DWG).
ALLOWED_TYPES = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "tif": "image/tiff",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "rtf": "application/rtf",
    "dwg": "image/vnd.dwg",
}
IMAGE_TYPES = {"jpg", "png", "webp", "tif"}
EXIF_GPS_IFD = 0x8825


@dataclass(frozen=True)
class PreparedFile:
    """A checked file, ready to store."""

    filename: str
    content_type: str
    content: bytes


def safe_filename(name: str, extension: str) -> str:
    """The name shown and offered on download: no path, no control characters, bounded, and
    ending in the extension that matches its content."""
    name = unicodedata.normalize("NFC", str(name or "")).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>|:*?').strip(" .")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = stem[:150] or _("bilaga")
    return f"{stem}.{extension}"


def limits_text() -> str:
    return _("Högst %(count)s filer om högst %(size)s var: PDF, bilder och kontorsdokument.") % {
        "count": settings.ATTACHMENT_MAX_FILES,
        "size": filesizeformat(settings.ATTACHMENT_MAX_BYTES),
    }


def prepare_file(name: str, content: bytes) -> PreparedFile:
    """Check one file's size and type from its content; strip an image's location."""
    if len(content) > settings.ATTACHMENT_MAX_BYTES:
        raise ValidationError(
            _("Filen %(name)s är för stor. Största tillåtna storlek är %(size)s.")
            % {"name": name, "size": filesizeformat(settings.ATTACHMENT_MAX_BYTES)}
        )
    if not content:
        raise ValidationError(_("Filen %(name)s är tom.") % {"name": name})
    import filetype  # ~15 modules: loaded by the first upload, not by every web worker

    kind = filetype.guess(content)
    if kind is None or kind.extension not in ALLOWED_TYPES:
        raise ValidationError(
            _(
                "Filen %(name)s är inte av en tillåten typ. Du kan bifoga PDF, bilder "
                "(JPEG, PNG, GIF, WebP, TIFF) och kontorsdokument (Word, Excel, PowerPoint, "
                "OpenDocument)."
            )
            % {"name": name}
        )
    if kind.extension in IMAGE_TYPES:
        content = strip_location(content)
    return PreparedFile(safe_filename(name, kind.extension), ALLOWED_TYPES[kind.extension], content)


def prepare_files(files) -> list[PreparedFile]:
    """Check uploaded files (Django UploadedFile objects); the first problem is raised."""
    files = [upload for upload in files if upload]
    if len(files) > settings.ATTACHMENT_MAX_FILES:
        raise ValidationError(
            _("Du kan bifoga högst %(count)s filer.") % {"count": settings.ATTACHMENT_MAX_FILES}
        )
    prepared = []
    for upload in files:
        if upload.size is not None and upload.size > settings.ATTACHMENT_MAX_BYTES:
            raise ValidationError(
                _("Filen %(name)s är för stor. Största tillåtna storlek är %(size)s.")
                % {"name": upload.name, "size": filesizeformat(settings.ATTACHMENT_MAX_BYTES)}
            )
        upload.seek(0)
        prepared.append(prepare_file(upload.name, upload.read()))
    return prepared


def strip_location(content: bytes) -> bytes:
    """The image without its EXIF GPS block; unchanged if it has none or cannot be read."""
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(content))
        exif = image.getexif()
        if EXIF_GPS_IFD not in exif:
            return content
        del exif[EXIF_GPS_IFD]
        out = io.BytesIO()
        options = {"exif": exif.tobytes()}
        if image.format == "JPEG":
            options["quality"] = "keep"
        image.save(out, format=image.format, **options)
        return out.getvalue()
    except Exception:  # not decodable by Pillow: refuse rather than keep a location
        logger.warning("Image could not be cleaned; refused")
        raise ValidationError(_("Bilden kunde inte läsas. Spara den som JPEG eller PNG.")) from None


def _storage():
    return storages["attachments"]


def attachments_store(
    *, case: Case, files: list[PreparedFile], message: Message | None = None, from_company: bool
) -> list[Attachment]:
    """Store checked files with a message (or with the question itself). Call inside the
    transaction that writes the message; the virus scan, if any, is the worker's relay's
    (`attachment_scan_relay`): the request does not talk to the broker."""
    scanning = bool(settings.CLAMAV_URL)
    stored = []
    for prepared in files:
        name = _storage().save(f"{case.pk}/{uuid.uuid4().hex}", ContentFile(prepared.content))
        stored.append(
            Attachment.objects.create(
                case=case,
                message=message,
                filename=prepared.filename,
                content_type=prepared.content_type,
                size=len(prepared.content),
                sha256=hashlib.sha256(prepared.content).hexdigest(),
                storage_name=name,
                from_company=from_company,
                scan_status=Attachment.Scan.PENDING if scanning else Attachment.Scan.CLEAN,
            )
        )
    if scanning and settings.OUTBOX_SEND_ON_COMMIT:  # no worker (tests, eager development)
        for attachment in stored:
            transaction.on_commit(partial(_scan_now, attachment.pk))
    return stored


def _scan_now(attachment_id: int) -> None:
    try:
        attachment_scan(attachment_id=attachment_id)
    except OSError:  # stays quarantined; the relay tries again
        logger.warning("Attachment %s not scanned; left quarantined", attachment_id, exc_info=True)


def attachment_open(attachment: Attachment):
    return _storage().open(attachment.storage_name, "rb")


# --- Virus scan ----------------------------------------------------------------------------


def clamd_scan(content: bytes, url: str, timeout: float = 30.0) -> str | None:
    """Scan with clamd's INSTREAM command; the virus name, or None when clean."""
    parsed = urlparse(url)
    if parsed.scheme == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        address = parsed.path
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        address = (parsed.hostname or "127.0.0.1", parsed.port or 3310)
    with sock:
        sock.settimeout(timeout)
        sock.connect(address)
        sock.sendall(b"zINSTREAM\0")
        for start in range(0, len(content), 64 * 1024):
            chunk = content[start : start + 64 * 1024]
            sock.sendall(struct.pack("!L", len(chunk)) + chunk)
        sock.sendall(struct.pack("!L", 0))
        reply = b""
        while not reply.endswith(b"\0"):
            data = sock.recv(4096)
            if not data:
                break
            reply += data
    text = reply.rstrip(b"\0").decode("utf-8", "replace")
    if text.endswith("OK"):
        return None
    if text.endswith("FOUND"):
        return text.split(":", 1)[-1].removesuffix("FOUND").strip()
    raise OSError(f"clamd: {text}")


def attachment_scan(*, attachment_id: int) -> str:
    """Scan a quarantined file; clean files are released, infected ones deleted."""
    with transaction.atomic():
        attachment = Attachment.objects.select_for_update().filter(pk=attachment_id).first()
        if attachment is None or attachment.scan_status != Attachment.Scan.PENDING:
            return attachment.scan_status if attachment else ""
        return _scan_locked(attachment)


def _scan_locked(attachment: Attachment) -> str:
    with attachment_open(attachment) as handle:
        found = clamd_scan(handle.read(), settings.CLAMAV_URL)
    if found:
        logger.warning("Attachment %s infected (%s); deleted", attachment.pk, found)
        _storage().delete(attachment.storage_name)
        attachment.scan_status = Attachment.Scan.INFECTED
    else:
        attachment.scan_status = Attachment.Scan.CLEAN
    attachment.save(update_fields=["scan_status"])
    return attachment.scan_status


# After a failure this worker process leaves the file (clamd unreachable: every file) to later
# relays for this long, so that a clamd that is down is not asked every second.
SCAN_RETRY_SECONDS = 60
_retry_after: dict[int | None, float] = {}  # attachment id (None: clamd) -> monotonic time


def attachment_scan_relay(*, limit: int = 50) -> int:
    """Scan the quarantined files, oldest first; returns how many were scanned.

    The worker runs it every OUTBOX_RELAY_SECONDS (`cases.tasks.attachment_scan_relay_task`,
    beat's "attachment-scan-relay"), so a file is scanned about a second after the message
    that brought it. Each file is scanned under its row lock and relays running at the same
    time skip locked rows (`SKIP LOCKED`), so every file is scanned once. A file clamd cannot
    scan stays quarantined ("granskas") and is tried again after SCAN_RETRY_SECONDS.
    """
    if not settings.CLAMAV_URL:
        return 0
    now = time.monotonic()
    for key, until in list(_retry_after.items()):
        if until <= now:
            del _retry_after[key]
    if None in _retry_after:
        return 0
    scanned = 0
    while scanned < limit:
        with transaction.atomic():
            attachment = (
                Attachment.objects.select_for_update(skip_locked=True)
                .filter(scan_status=Attachment.Scan.PENDING, removed_at__isnull=True)
                .exclude(pk__in=list(_retry_after))
                .order_by("pk")
                .first()
            )
            if attachment is None:
                break
            try:
                _scan_locked(attachment)
            except (ConnectionError, TimeoutError, socket.gaierror) as error:
                logger.warning("clamd unreachable (%s); scans wait", error)
                _retry_after[None] = time.monotonic() + SCAN_RETRY_SECONDS
                break
            except OSError as error:
                logger.warning("Attachment %s not scanned (%s)", attachment.pk, error)
                _retry_after[attachment.pk] = time.monotonic() + SCAN_RETRY_SECONDS
                continue
        scanned += 1
    return scanned


# --- Gallring ------------------------------------------------------------------------------


def attachments_remove(*, case: Case, company_only: bool = True) -> int:
    """Delete the case's files (the company's, or all) and mark the rows removed; used by
    gallring. Returns how many files were deleted."""
    rows = Attachment.objects.filter(case=case, removed_at__isnull=True)
    if company_only:
        rows = rows.filter(from_company=True)
    count = 0
    for attachment in rows:
        if attachment.storage_name:
            _storage().delete(attachment.storage_name)
        count += 1
    rows.update(removed_at=timezone.now(), filename="[gallrad]", storage_name="")
    return count
