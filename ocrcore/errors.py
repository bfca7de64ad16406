"""Exceptions the OCR core raises; callers map them to user-facing errors."""


class OcrError(Exception):
    """Base class for every error the OCR core raises on purpose."""


class ImageDecodeError(OcrError, ValueError):
    """The bytes are not an image we can decode (empty, corrupt, unsupported format)."""


class ImageTooLargeError(ImageDecodeError):
    """The image decodes but has more pixels than the configured cap."""


class UnknownModelError(OcrError, ValueError):
    """A model set name that is not installed."""


class ModelFileError(OcrError, RuntimeError):
    """A model file is missing or does not match the manifest's sha256."""
