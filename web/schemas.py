"""Every request and response body of the HTTP API, in one place.

The routes validate inputs with these models and /openapi.json is generated from them.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from spectree.model_adapter.pydantic_adapter import BaseFile

JobStatus = Literal["queued", "running", "succeeded", "failed", "canceled"]


class OcrParams(BaseModel):
    """Options shared by both encodings of POST /ocr and POST /jobs."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str | None = Field(None, description="Model set name from GET /models; default: the server's.")
    use_angle_cls: bool = Field(True, description="Detect and fix upside-down text lines.")
    det_limit_side: int | None = Field(
        None, ge=32, le=4096, description="Longest image side for text detection, in pixels; default: the engine's."
    )
    # Accepted for compatibility with the Marker/Datalab form convention.
    output_format: Literal["json"] = Field("json", description="Only 'json' for images.")
    force_ocr: bool = Field(False, description="Images are always OCRed; accepted for compatibility.")
    paginate_output: bool = Field(False, description="No effect for single images; accepted for compatibility.")

    @field_validator("model", "det_limit_side", mode="before")
    @classmethod
    def _empty_is_default(cls, value):
        return None if value == "" else value

    def engine_options(self) -> dict:
        return {"model": self.model, "use_angle_cls": self.use_angle_cls, "det_limit_side": self.det_limit_side}


class OcrJsonRequest(OcrParams):
    image: str = Field(..., description="The image file, base64-encoded; a data: URL prefix is accepted.")


class OcrFormRequest(OcrParams):
    file: BaseFile = Field(..., description="The image file (JPEG, PNG, WebP, BMP, TIFF or GIF).")


class TextLineOut(BaseModel):
    text: str
    confidence: float = Field(..., ge=0, le=1)
    bounding_box: list[list[int]] = Field(
        ..., description="Four [x, y] corners in image pixels, clockwise from top-left."
    )


class OcrResponse(BaseModel):
    processing_time: float = Field(..., description="Seconds the worker spent on the image.")
    results: list[TextLineOut]


class ErrorDetail(BaseModel):
    code: str = Field(..., description="Stable snake_case identifier, e.g. 'invalid_base64'.")
    message: str = Field(..., description="A plain sentence for people.")


class ErrorResponse(BaseModel):
    error: ErrorDetail


class TimeoutResponse(ErrorResponse):
    id: str = Field(..., description="The job keeps running: poll it at `url`.")
    url: str


class JobCreated(BaseModel):
    id: str
    status: JobStatus
    url: str


class Progress(BaseModel):
    done: int
    total: int


class JobBody(BaseModel):
    id: str
    status: JobStatus
    created_at: str = Field(..., description="ISO 8601, UTC.")
    started_at: str | None
    finished_at: str | None
    progress: Progress | None
    result: OcrResponse | None = Field(..., description="Set when status is 'succeeded'.")
    error: ErrorDetail | None = Field(..., description="Set when status is 'failed'.")


class ModelsResponse(BaseModel):
    default: str
    models: list[str]


class HealthResponse(BaseModel):
    status: Literal["ok"]


class ReadyResponse(BaseModel):
    status: Literal["ready", "unready"]
    redis: bool
    workers: int = Field(..., description="Worker children that reported alive recently.")
