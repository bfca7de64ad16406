"""Every request and response body of the HTTP API, in one place.

The routes validate inputs with these models and /openapi.json is generated from them.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator
from spectree.model_adapter.pydantic_adapter import BaseFile

from jobs.model import JobOptions, Status
from ocrcore.limits import OutputFormat, TextFormat


class OcrParams(BaseModel):
    """Options shared by both encodings of POST /ocr and POST /jobs."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str | None = Field(None, description="Model set name from GET /models; default: the server's.")
    use_angle_cls: bool = Field(True, description="Detect and fix upside-down text lines.")
    det_limit_side: int | None = Field(
        None, ge=32, le=4096, description="Longest image side for text detection, in pixels; default: the engine's."
    )
    # Named as in the Marker/Datalab form convention.
    output_format: OutputFormat = Field(
        "json",
        description="json: lines with boxes (the original shape for an image, pages for a PDF); "
        "text, markdown, html or hocr: a document in that format; pdf: a searchable PDF (the pages as "
        "they were, with an invisible text layer): each PDF sent becomes its own, all images sent become "
        "one, a page per image.",
    )
    force_ocr: bool = Field(
        False, description="OCR every PDF page, even one with a usable text layer. Images are always OCRed."
    )
    paginate_output: bool = Field(
        False, description="Mark page boundaries in text, markdown and html output (Marker's page separator)."
    )
    layout: bool = Field(
        False, description="json: add each page's layout, its blocks in reading order (type: heading, paragraph, "
        "list_item, table, caption, header, footer; box; lines; a table's cells with row, column and spans). "
        "The text formats always follow the layout.",
    )
    keep_headers_footers: bool = Field(
        False, description="text, markdown and html: keep running headers, footers and page numbers, which are "
        "left out by default (JSON layout blocks always carry them, typed header or footer).",
    )
    page_range: str | None = Field(
        None, max_length=1000,
        description="PDF pages to read, 0-based like Marker's page_range (the first page is 0), e.g. '0,5-10,20'; "
        "default: all. Ignored for images. Results still number pages from 1 (`page`).",
    )
    callback_url: str | None = Field(
        None, max_length=2000,
        description="An http(s) URL that receives the job's status document (as GET /jobs/<id> shows it, in a "
        "Standard Webhooks envelope, signed with the server's secret) once the job ends; retried with backoff. "
        "Public addresses only; no credentials. Refused (400) when the server has no callback secret.",
    )

    @field_validator("model", "det_limit_side", "page_range", "callback_url", mode="before")
    @classmethod
    def _empty_is_default(cls, value):
        return None if value == "" else value

    @field_validator("det_limit_side", mode="before")
    @classmethod
    def _whole_number(cls, value):
        """960.0 is the integer 960 in JSON (and in JSON Schema); JSON bodies are read strictly."""
        return int(value) if isinstance(value, float) and value.is_integer() else value

    def job_options(self) -> JobOptions:
        """What the worker needs besides the files (the pages are chosen by the gateway)."""
        return JobOptions(
            model=self.model, use_angle_cls=self.use_angle_cls, det_limit_side=self.det_limit_side,
            output_format=self.output_format, force_ocr=self.force_ocr, paginate_output=self.paginate_output,
            layout=self.layout, keep_headers_footers=self.keep_headers_footers,
        )


# A 32x32 white PNG: the example request a client generator or a schema-driven fuzzer starts from.
EXAMPLE_PNG_BASE64 = (
    "iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAAAAABWESUoAAAAGElEQVR42mP8z4AfMDGMKhhVMKpghCoAAKM9AT8q/1PbAAAAAElFTkSuQmCC"
)


class OcrJsonRequest(OcrParams):
    image: str | None = Field(
        None, description="The file (an image or a PDF), base64-encoded; a data: URL prefix is accepted.",
        examples=[EXAMPLE_PNG_BASE64],
    )
    images: list[str] | None = Field(
        None, description="Several files in one job instead of `image`, each with its own result."
    )


class OcrFormRequest(OcrParams):
    file: list[BaseFile] = Field(
        ..., min_length=1,
        description="The files: JPEG, PNG, WebP, BMP, TIFF, GIF or PDF, recognised by their bytes. Repeat the "
        "field for several files (up to the server's max_files_per_job, GET /limits).",
    )


class ErrorDetail(BaseModel):
    code: str = Field(..., description="Stable snake_case identifier, e.g. 'invalid_base64'.")
    message: str = Field(..., description="A plain sentence for people.")


class TextLineOut(BaseModel):
    text: str
    confidence: float = Field(..., ge=0, le=1)
    bounding_box: list[list[int]] = Field(
        ..., description="Four [x, y] corners in image pixels, clockwise from top-left."
    )


class CellOut(BaseModel):
    row: int = Field(..., ge=0, description="0-based row of the cell's top left position.")
    col: int = Field(..., ge=0)
    rowspan: int = Field(..., ge=1)
    colspan: int = Field(..., ge=1)
    text: str = Field(..., description="The cell's text; empty for an empty cell.")
    bbox: list[int] = Field(..., min_length=4, max_length=4, description="[x0, y0, x1, y1] in page pixels.")
    lines: list[int] = Field(..., description="Indices into the page's `results` of the lines in this cell.")


class TableOut(BaseModel):
    rows: int
    cols: int
    header_rows: int = Field(..., description="Rows at the top that head the columns (rendered as <thead>).")
    ruled: bool = Field(..., description="Found from drawn ruling lines; false: from aligned text.")
    cells: list[CellOut] = Field(..., description="Row by row; a position covered by a span has no cell of its own.")


class BlockOut(BaseModel):
    type: Literal["heading", "paragraph", "list_item", "table", "caption", "header", "footer"] = Field(
        ..., description="header and footer are page furniture (running heads, page numbers, margin stamps): "
        "left out of text, markdown and html unless keep_headers_footers."
    )
    bbox: list[int] = Field(..., min_length=4, max_length=4, description="[x0, y0, x1, y1] in page pixels.")
    lines: list[int] = Field(..., description="Indices into the page's `results` of the block's lines, in order.")
    text: str = Field(..., description="The block's text, lines joined and hyphenation undone.")
    level: int | None = Field(None, ge=1, le=6, description="heading: its level, 1 the largest.")
    ordered: bool | None = Field(None, description="list_item: numbered rather than bulleted.")
    marker: str | None = Field(None, description="list_item: its bullet or number as on the page.")
    table: TableOut | None = Field(None, description="table: its rows, columns and cells.")
    continued: bool | None = Field(
        None, description="paragraph: it runs on into the next paragraph block (the next column or page)."
    )


class LayoutOut(BaseModel):
    """A page's layout (layout=true): its blocks in reading order."""

    blocks: list[BlockOut]


class OcrResponse(BaseModel):
    """An image with output_format json: the original response shape, exactly (`layout` only
    when the request asked for it)."""

    processing_time: float = Field(..., description="Seconds the worker spent on the image.")
    results: list[TextLineOut] = Field(..., description="The lines in reading order.")
    layout: LayoutOut | None = Field(None, description="With layout=true: the image's blocks in reading order.")


class PageOut(BaseModel):
    page: int = Field(..., description="1-based page number in the PDF.")
    width: int = Field(..., description="Pixels of the page as rendered; the boxes are in this frame.")
    height: int
    source: Literal["ocr", "text_layer"] = Field(
        ..., description="text_layer: the PDF's own text was used; ocr: the page was rendered and recognized."
    )
    results: list[TextLineOut] = Field(..., description="The page's lines in reading order.")
    layout: LayoutOut | None = Field(None, description="With layout=true: the page's blocks in reading order.")


class DocumentResponse(BaseModel):
    """A PDF with output_format json."""

    processing_time: float = Field(..., description="Seconds the worker spent on the document.")
    pages: list[PageOut]


class FormattedResponse(BaseModel):
    """Any file with output_format text, markdown, html or hocr, as a job result (POST /ocr
    answers `content` itself, with its own media type)."""

    processing_time: float
    output_format: TextFormat
    content: str


class SearchablePdfResult(BaseModel):
    """output_format pdf, as a job result: where the searchable PDF is. (POST /ocr answers
    the PDF itself when the request made one document and every file was read.)"""

    processing_time: float
    output_format: Literal["pdf"]
    url: str = Field(..., description="GET it for the PDF (application/pdf, an attachment) while the job is kept.")
    filename: str = Field(
        ..., description="The PDF's download name: the uploaded file's name (for images, the first image's) "
        "with .pdf; document.pdf without one."
    )
    bytes: int = Field(..., description="Size of the PDF.")
    pages: int = Field(
        ..., description="Pages in the PDF: all of a PDF's pages (page_range only picks those OCRed), or one per image."
    )
    page: int | None = Field(None, description="With several images: the page of the PDF this image became.")


class FileResult(BaseModel):
    filename: str | None = Field(..., description="The uploaded file's name; null for JSON `images`.")
    result: OcrResponse | DocumentResponse | FormattedResponse | SearchablePdfResult | None = Field(
        ..., description="This file's own result, as if it had been sent alone."
    )
    error: ErrorDetail | None = Field(..., description="Why this file has no result.")


class FilesResponse(BaseModel):
    """Several files in one request: one entry per file, in the order sent."""

    processing_time: float
    files: list[FileResult]


class OcrJsonResult(RootModel[OcrResponse | DocumentResponse | FilesResponse]):
    """POST /ocr with output_format json: an image's lines, a PDF's pages, or several files."""


class ErrorResponse(BaseModel):
    """Every error: {"error": {"code", "message"}}; 503s also carry Retry-After, and a sync job
    the service failed carries its `id` and `url`."""

    error: ErrorDetail


class TimeoutResponse(ErrorResponse):
    id: str = Field(..., description="The job keeps running: poll it at `url`.")
    url: str


class JobCreated(BaseModel):
    id: str
    status: Status
    url: str


class Progress(BaseModel):
    done: int = Field(..., description="Pages (an image is one page) finished so far.")
    total: int = Field(..., description="Pages in the job, over all its files.")


class CallbackState(BaseModel):
    url: str
    status: Literal["pending", "delivered", "failed"] = Field(
        ..., description="pending until delivered (any 2xx answer) or given up (refused address, or retries "
        "past the server's callback_max_seconds)."
    )
    attempts: int = Field(..., description="POSTs made so far.")
    last_error: str | None = Field(..., description="Why the last attempt failed, if it did.")


class JobBody(BaseModel):
    id: str
    status: Status
    created_at: str = Field(..., description="ISO 8601, UTC.")
    started_at: str | None
    finished_at: str | None
    progress: Progress | None
    result: OcrResponse | DocumentResponse | FormattedResponse | SearchablePdfResult | FilesResponse | None = Field(
        ..., description="Set when status is 'succeeded'."
    )
    error: ErrorDetail | None = Field(..., description="Set when status is 'failed'.")
    callback: CallbackState | None = Field(None, description="Only for a job submitted with a callback_url.")


class JobStatuses(BaseModel):
    active: list[Status] = Field(..., description="A job in one of these may still change: keep polling.")
    final: list[Status] = Field(..., description="A job in one of these is finished for good.")


class LimitsResponse(BaseModel):
    """What this server accepts, for clients and the web UI (the same values it enforces)."""

    max_upload_bytes: int = Field(..., description="Largest file, decoded.")
    max_body_bytes: int = Field(..., description="Largest HTTP request body.")
    max_image_pixels: int = Field(..., description="Largest image, width x height.")
    max_files_per_job: int
    max_pdf_pages: int = Field(..., description="Pages per job, over all its PDFs.")
    pdf_dpi: float = Field(..., description="Resolution PDF pages are rendered at for OCR.")
    sync_timeout: float = Field(..., description="Seconds POST /ocr waits before answering 504 with the job.")
    input_formats: list[str] = Field(..., description="File types recognised by their bytes.")
    output_formats: list[OutputFormat]
    job_statuses: JobStatuses


class ModelsResponse(BaseModel):
    default: str
    models: list[str]


class HealthResponse(BaseModel):
    status: Literal["ok"]


class ReadyResponse(BaseModel):
    status: Literal["ready", "unready"]
    redis: bool
    workers: int = Field(..., description="Worker children that reported alive recently.")
