"""Everything about an upload is checked here, before a job exists.

Order matters: cheap checks first (body size, JSON, base64), then the file type from
its magic bytes (never its name or Content-Type), then the pixel count from the
image header alone, so a decompression bomb is refused without being decoded. A PDF
is opened (never rendered) to refuse encrypted and broken files and to count the
pages page_range selects; the worker renders them.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
import warnings
from dataclasses import dataclass

from flask import Request
from PIL import Image
from pydantic import ValidationError

from jobs import callbacks
from jobs.errors import ErrorCode, document_error
from jobs.model import FileMeta
from jobs.settings import Settings
from ocrcore.document import DocumentError, open_pdf
from ocrcore.limits import (
    IMAGE_FORMATS,
    IMAGE_NAMES,
    MAX_JSON_DEPTH,
    PAGE_RANGE_EXAMPLE,
    page_range_is_wellformed,
    sniff_type,
)
from ocrcore.registry import MODEL_SETS

from .errors import ApiError
from .schemas import OcrFormRequest, OcrJsonRequest, OcrParams

# We compare the header's pixel count with our own cap; PIL's warning adds nothing.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

_WHITESPACE = str.maketrans("", "", " \t\r\n")
# Bodies that are read as JSON when they look like an object: `curl -d` without a
# Content-Type header sends x-www-form-urlencoded, and some clients send text/plain.
_LENIENT_TYPES = ("", "text/plain", "application/x-www-form-urlencoded")
SEND_HINT = "Send application/json with a base64 'image', or multipart/form-data with a 'file'."
_URLSAFE = str.maketrans("-_", "+/")


@dataclass(frozen=True)
class UploadFile:
    data: bytes
    meta: FileMeta  # kind (from the bytes), the client's file name, a PDF's pages
    width: int = 0  # images: from the header
    height: int = 0


@dataclass(frozen=True)
class Upload:
    files: list[UploadFile]
    params: OcrParams

    @property
    def page_count(self) -> int:
        return sum(f.meta.page_count for f in self.files)


def read_upload(request: Request, settings: Settings) -> Upload:
    """Parse either encoding and check everything; raises ApiError with the right status."""
    mimetype = request.mimetype
    if mimetype == "multipart/form-data":
        raw_files, params = _read_multipart(request, settings)
    elif _is_json(mimetype) or mimetype in _LENIENT_TYPES:
        raw_files, params = _read_json(request, settings)
    else:
        raise ApiError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, SEND_HINT)

    if params.model is not None and params.model not in MODEL_SETS:
        raise ApiError(ErrorCode.UNKNOWN_MODEL,
                       f"Unknown model set '{params.model}'; choose one of: {', '.join(MODEL_SETS)}.")
    # Checked up front so a bad page_range is refused for images too.
    if params.page_range is not None and not page_range_is_wellformed(params.page_range):
        raise ApiError(ErrorCode.INVALID_PAGE_RANGE,
                       f"page_range {params.page_range!r} is malformed; use 0-based page numbers and ranges "
                       f"like {PAGE_RANGE_EXAMPLE} (the first page is 0).")
    if params.callback_url is not None:
        check_callback_url(params.callback_url, settings)
    files = []
    for number, (data, filename) in enumerate(raw_files, start=1):
        try:
            files.append(_check_file(data, filename, params, settings))
        except ApiError as exc:
            if len(raw_files) > 1:  # say which file, by name when it has one
                exc.message = f"File {number}{f' ({filename})' if filename else ''}: {exc.message}"
            raise
    upload = Upload(files=files, params=params)
    if len(files) > 1 and upload.page_count > settings.max_pdf_pages:
        raise ApiError(ErrorCode.TOO_MANY_PAGES,
                       f"The files have {upload.page_count} pages in all; the limit is {settings.max_pdf_pages} "
                       "pages per job. Send them in several jobs or use page_range.")
    return upload


def check_callback_url(url: str, settings: Settings) -> None:
    """Checked at submit time without resolving the host (jobs/callbacks.py checks again, resolved, when
    it delivers)."""
    if settings.callback_secret is None:
        raise ApiError(ErrorCode.CALLBACKS_DISABLED,
                       "This server sends no callbacks (no callback secret is configured); poll the job instead.")
    try:
        callbacks.check_url(url, settings.callback_allow_private)
    except callbacks.CallbackUrlError as exc:
        raise ApiError(ErrorCode.INVALID_CALLBACK_URL, str(exc)) from None


# Idempotency-Key: printable ASCII without spaces, like Stripe's keys and UUIDs.
IDEMPOTENCY_KEY_PATTERN = re.compile(r"[!-~]{1,255}")


def idempotency_key(request: Request) -> str | None:
    """The request's Idempotency-Key header, checked; None without one."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY_PATTERN.fullmatch(key):
        raise ApiError(ErrorCode.INVALID_IDEMPOTENCY_KEY, "The Idempotency-Key header must be 1 to 255 printable "
                       "ASCII characters without spaces (a UUID, say).")
    return key


def request_hash(upload: Upload) -> str:
    """What makes two requests "the same" for an Idempotency-Key: the options and each file's bytes
    and name, whichever encoding carried them (a multipart boundary or JSON spacing does not count)."""
    digest = hashlib.sha256(json.dumps(upload.params.model_dump(), sort_keys=True).encode())
    for upload_file in upload.files:
        digest.update(b"\0" + hashlib.sha256(upload_file.data).digest() + (upload_file.meta.filename or "").encode())
    return digest.hexdigest()


def _check_file(data: bytes, filename: str | None, params: OcrParams, settings: Settings) -> UploadFile:
    if not data:
        raise ApiError(ErrorCode.EMPTY_IMAGE, "The file is empty.")
    if len(data) > settings.max_upload_bytes:
        raise ApiError(ErrorCode.PAYLOAD_TOO_LARGE,
                       f"The file is {len(data)} bytes; the limit is {settings.max_upload_bytes} bytes.")
    kind = sniff_type(data)
    if kind == "pdf":
        return UploadFile(data, FileMeta(filename, kind, _pdf_pages(data, params, settings)))
    if kind is None:
        raise ApiError(ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                       f"The file is not a supported image type ({IMAGE_NAMES}) or a PDF.")
    width, height = _image_size(data, kind, settings.max_image_pixels)
    if width * height > settings.max_image_pixels:
        raise ApiError(ErrorCode.TOO_MANY_PIXELS,
                       f"The image is {width}x{height} = {width * height} pixels; "
                       f"the limit is {settings.max_image_pixels} pixels.")
    return UploadFile(data, FileMeta(filename, kind), width=width, height=height)


def _pdf_pages(data: bytes, params: OcrParams, settings: Settings) -> tuple[int, ...]:
    """Open the PDF (parsing only: nothing is rendered here) and pick its pages."""
    try:
        with open_pdf(data, max_pages=settings.max_pdf_pages, page_range=params.page_range) as document:
            return tuple(document.selected_pages)
    except DocumentError as exc:
        code, message = document_error(exc)
        raise ApiError(code, message) from None


def _read_json(request: Request, settings: Settings) -> tuple[list[tuple[bytes, str | None]], OcrParams]:
    raw = request.get_data(cache=False)  # Flask enforces MAX_CONTENT_LENGTH while reading
    first = raw[:64].lstrip()[:1]
    if not first and not raw.strip():
        raise ApiError(ErrorCode.EMPTY_BODY, "The request body is empty. " + SEND_HINT)
    if first != b"{" and not _is_json(request.mimetype):
        raise ApiError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, SEND_HINT)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(ErrorCode.INVALID_JSON, "The request body is not valid JSON.") from None
    except RecursionError:  # the parser's own bound (about 1000 levels)
        body = _TOO_DEEP
    if body is _TOO_DEEP or _depth(body) > MAX_JSON_DEPTH:
        raise ApiError(ErrorCode.INVALID_JSON, f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep.")
    if not isinstance(body, dict):
        raise ApiError(ErrorCode.INVALID_JSON, "The request body must be a JSON object.")
    try:
        # Strict: JSON has its own booleans and numbers; "1" for true or "960" for 960 is refused,
        # so the request schema in /openapi.json says exactly what is accepted.
        parsed = OcrJsonRequest.model_validate(body, strict=True)
    except ValidationError as exc:
        raise field_error(exc) from None
    if parsed.image is not None and parsed.images is not None:
        raise ApiError(ErrorCode.INVALID_FIELD, "Send either 'image' or 'images', not both.")
    if parsed.image is None and not parsed.images:
        raise ApiError(ErrorCode.MISSING_FIELD, "The field 'image' is required.")
    encoded = [parsed.image] if parsed.image is not None else parsed.images or []
    _check_count(len(encoded), settings)
    files: list[tuple[bytes, str | None]] = [(decode_base64(text, settings.max_upload_bytes), None) for text in encoded]
    return files, OcrParams.model_validate(parsed.model_dump(exclude={"image", "images"}))


_TOO_DEEP = object()


def _depth(value: object) -> int:
    """How deep lists and objects nest in a parsed JSON value (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            break
        stack.extend((child, level + 1) for child in children)
    return deepest


def _check_count(count: int, settings: Settings) -> None:
    if count > settings.max_files_per_job:
        raise ApiError(ErrorCode.TOO_MANY_FILES,
                       f"{count} files sent; the limit is {settings.max_files_per_job} per request.")


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or mimetype.endswith("+json")


def _read_multipart(request: Request, settings: Settings) -> tuple[list[tuple[bytes, str | None]], OcrParams]:
    files = request.files  # parsing enforces MAX_CONTENT_LENGTH and the form limits
    uploads = files.getlist("file")
    if not uploads:
        if "file" in request.form:  # a part without a filename is a text field, its bytes decoded as text
            raise ApiError(ErrorCode.MISSING_FIELD, "The 'file' part has no filename, so it arrived as a text "
                           "field; send it as a file (a filename in its Content-Disposition, as curl -F file=@x does).")
        raise ApiError(ErrorCode.MISSING_FIELD, "Send the file in a multipart field named 'file'.")
    extra_files = [name for name in files if name != "file"]
    if extra_files:
        raise ApiError(ErrorCode.UNKNOWN_FIELD,
                       f"Unexpected file field '{extra_files[0]}'; send each file in a field named 'file'.")
    _check_count(len(uploads), settings)
    # An empty form field (an unset <select>, say) means "the default".
    fields = {name: _form_value(name, value) for name in request.form if (value := request.form.get(name, ""))}
    try:
        parsed = OcrFormRequest.model_validate({**fields, "file": uploads}, strict=True)
    except ValidationError as exc:
        raise field_error(exc) from None
    data = [(upload.stream.read(), _filename(upload.filename)) for upload in uploads]
    return data, OcrParams.model_validate(parsed.model_dump(exclude={"file"}))


# Form fields are text: booleans as these words (any case), integers as decimal digits. Anything
# else stays text and the strict validation refuses it, as /openapi.json describes.
FORM_TRUE = ("true", "on", "yes")
FORM_FALSE = ("false", "off", "no")
_FORM_INTEGER = re.compile(r"[0-9]{1,9}")


def _form_value(name: str, value: str) -> object:
    field = OcrParams.model_fields.get(name)
    kind = field.annotation if field is not None else None
    if kind is bool:
        lowered = value.lower()
        return True if lowered in FORM_TRUE else False if lowered in FORM_FALSE else value
    if kind in (int, int | None) and _FORM_INTEGER.fullmatch(value):
        return int(value)
    return value


def _filename(name: str | None) -> str | None:
    """The client's file name, kept only as a label: no directories, no control characters, short."""
    if not name:
        return None
    name = re.sub(r"[\x00-\x1f\x7f]", "", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return name[:255] or None


def decode_base64(text: str, max_bytes: int) -> bytes:
    """Standard or URL-safe base64, line breaks and missing padding tolerated, data: URL prefix too."""
    payload = text.strip()
    if payload.startswith("data:"):
        header, comma, payload = payload.partition(",")
        if not comma or not header.endswith(";base64"):
            raise ApiError(ErrorCode.INVALID_BASE64, "A data URL must be base64-encoded: data:<type>;base64,<data>.")
    payload = payload.translate(_WHITESPACE)
    if not payload:
        raise ApiError(ErrorCode.EMPTY_IMAGE, "The image is empty.")
    if len(payload) > (max_bytes + 2) // 3 * 4:
        raise ApiError(ErrorCode.PAYLOAD_TOO_LARGE, f"The decoded file would exceed the limit of {max_bytes} bytes.")
    payload = payload.translate(_URLSAFE) + "=" * (-len(payload) % 4)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(ErrorCode.INVALID_BASE64, "The 'image' field is not valid base64.") from None


def field_error(exc: ValidationError) -> ApiError:
    first = exc.errors()[0]
    name = ".".join(str(part) for part in first["loc"]) or "body"
    if first["type"] == "missing":
        return ApiError(ErrorCode.MISSING_FIELD, f"The field '{name}' is required.")
    if first["type"] == "extra_forbidden":
        return ApiError(ErrorCode.UNKNOWN_FIELD, f"Unknown field '{name}'.")
    return ApiError(ErrorCode.INVALID_FIELD, f"The field '{name}' is invalid: {first['msg']}.")


def _image_size(data: bytes, kind: str, max_pixels: int) -> tuple[int, int]:
    """Width and height from the header only; nothing is decoded."""
    try:
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS[kind]) as image:
            return image.size
    except Image.DecompressionBombError:  # PIL's own guard (over ~179 megapixels) fired first
        raise ApiError(ErrorCode.TOO_MANY_PIXELS,
                       f"The image has too many pixels; the limit is {max_pixels} pixels.") from None
    except Exception:
        raise ApiError(ErrorCode.UNDECODABLE_IMAGE,
                       f"The file looks like {kind.upper()} but its header cannot be read.") from None
