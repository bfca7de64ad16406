"""OcrEngine: owns the inference sessions (onnxruntime or OpenVINO) of each model set and runs the pipeline."""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import registry
from .cls import ClsConfig, orient
from .crop import crop_quad, reading_order, span_quad
from .decode import DEFAULT_MAX_PIXELS, decode_image
from .det import DetConfig, detect
from .layout.rulings import find_rulings
from .rec import RecConfig, Recognition, load_charset, recognize
from .session import DEFAULT_BACKEND, Model, load_model, release_free_heap, resolve_backend
from .types import OcrOptions, OcrResult, TextLine, Word


@dataclass(frozen=True)
class PipelineConfig:
    det: DetConfig = field(default_factory=DetConfig)
    cls: ClsConfig = field(default_factory=ClsConfig)
    rec: RecConfig = field(default_factory=RecConfig)
    min_confidence: float = 0.5  # lines read with less confidence are noise, not text
    # Give each line an ink_box fitted to the words read in it, beside its bounding_box (the
    # detector's, margins included: the crop the recogniser reads and the box PaddleOCR reports).
    ink_boxes: bool = True
    max_pixels: int = DEFAULT_MAX_PIXELS


@dataclass
class _LoadedSet:
    det: Model
    cls: Model
    rec: Model
    charset: list[str]


class OcrEngine:
    """Runs detection, orientation and recognition with sessions created on first use.

    Sessions belong to the process that created them: after a fork the child builds
    its own (onnxruntime thread pools do not survive fork).
    """

    def __init__(
        self,
        threads: int = 1,
        models_dir: Path | None = None,
        default_model: str | None = None,
        config: PipelineConfig | None = None,
        backend: str | None = None,  # None: session.DEFAULT_BACKEND ("auto")
        # Recognition and orientation calls at once. None: one per thread on onnxruntime, one on
        # OpenVINO, where each lane is a stream with its own memory (f32 child after 40 receipts
        # and 4 A4 pages: 1045 MiB with one, 1219 with two) and the gain was not measured on bf16.
        lanes: int | None = None,
    ):
        self.backend = resolve_backend(backend or DEFAULT_BACKEND)  # what runs: never "auto"
        self.threads = threads
        self.lanes = max(1, lanes if lanes is not None else threads if self.backend == "onnxruntime" else 1)
        self.models_dir = Path(models_dir) if models_dir else registry.models_dir()
        self.default_model = registry.get_model_set(default_model).name
        self.config = config or PipelineConfig()
        self._loaded: dict[str, _LoadedSet] = {}
        self._owner_pid = os.getpid()
        self._lock = threading.Lock()

    def warmup(self, model: str | None = None) -> None:
        """Load a model set and read a synthetic page of text lines once, so the first
        request finds the buffers and kernels of common shapes built (OpenVINO builds them
        on first use) and a worker child's RSS starts near its working level."""
        name = model or self.default_model
        self._models(name)
        self.run(_warmup_page(), OcrOptions(model=name))

    def run(self, image: bytes | np.ndarray, options: OcrOptions | None = None) -> OcrResult:
        options = options or OcrOptions()
        started = time.perf_counter()
        timings: dict[str, float] = {}

        if isinstance(image, np.ndarray):
            bgr = image
        else:
            bgr = decode_image(image, self.config.max_pixels)
        timings["decode"] = time.perf_counter() - started
        name = registry.get_model_set(options.model or self.default_model).name
        models = self._models(name)
        det_config = self.config.det
        if options.det_limit_side:
            det_config = replace(det_config, limit_side=options.det_limit_side)

        lap = time.perf_counter()
        quads = detect(models.det, bgr, det_config).quads
        order = reading_order(quads)
        quads = [quads[i] for i in order]
        crops = [crop_quad(bgr, q) for q in quads]
        timings["det"] = time.perf_counter() - lap

        lap = time.perf_counter()
        flipped = [False] * len(crops)
        if options.use_angle_cls and crops:
            flipped = orient(models.cls, crops, self.config.cls)
        timings["cls"] = time.perf_counter() - lap

        lap = time.perf_counter()
        texts = recognize(models.rec, models.charset, crops, self.config.rec)
        timings["rec"] = time.perf_counter() - lap

        ink = self.config.ink_boxes
        lines = [
            _line(rec, quad, flip, ink)
            for quad, rec, flip in zip(quads, texts, flipped)
            if rec.text.strip() and rec.confidence >= self.config.min_confidence
        ]
        # Ruling lines for the layout's ruled tables, bullet marks beside the lines, dotted
        # leaders after lines read as ending in ".": part of finding the page's geometry
        # (layout/rulings.py has the measured cost). Marks are looked for left of the text
        # read, not of the detector's box: the detector's box often takes in a bullet the
        # recogniser then drops.
        lap = time.perf_counter()
        boxes = [_extent(np.asarray(line.placement_box)) for line in lines]
        rulings = find_rulings(bgr, boxes, [box for box, line in zip(boxes, lines) if line.text.endswith(".")])
        timings["det"] += time.perf_counter() - lap
        height, width = bgr.shape[:2]
        release_free_heap()
        return OcrResult(
            lines=lines,
            processing_time=time.perf_counter() - started,
            width=width,
            height=height,
            model=name,
            timings=timings,
            rulings=rulings,
        )

    def _models(self, name: str) -> _LoadedSet:
        with self._lock:
            if os.getpid() != self._owner_pid:  # forked after loading: start afresh
                self._loaded = {}
                self._owner_pid = os.getpid()
            loaded = self._loaded.get(name)
            if loaded is None:
                loaded = self._loaded[name] = self._load(registry.get_model_set(name))
            return loaded

    def _load(self, model_set: registry.ModelSet) -> _LoadedSet:
        manifest = registry.read_manifest(self.models_dir)

        def path(relative: str) -> Path:
            return registry.verified_path(self.models_dir, relative, manifest)

        # The classifier is shared between sets: reuse an already loaded session.
        shared_cls = next((s.cls for s in self._loaded.values()), None)
        return _LoadedSet(
            # Detection gets an arena, shrunk after each run: without one, every tensor of a
            # full page (1248x1760) was page-faulted in fresh, 240k faults (~1 GB zeroed) per
            # page, and detection ran 1.2-1.4x slower than RapidOCR's on the same model.
            # Detection keeps no per-shape kernels on OpenVINO (session.OV_RUNTIME_CACHE_CAPACITY).
            det=load_model(self.backend, path(model_set.det), self.threads, arena=True, shape_cache=False),
            cls=shared_cls or load_model(self.backend, path(model_set.cls), self.threads, lanes=self.lanes),
            # Recognition runs a lane per thread: one call per core on its own batch of lines,
            # not each call split across the cores (session.run_in_lanes has the figures).
            rec=load_model(self.backend, path(model_set.rec), self.threads, lanes=self.lanes),
            charset=load_charset(path(model_set.dictionary)),
        )


def _warmup_page() -> np.ndarray:
    """A receipt-sized page (736x1024) of printed lines from 4 to 40 characters."""
    import cv2

    page = np.full((1024, 736, 3), 255, dtype=np.uint8)
    for row in range(18):
        text = "Total 12.50 RM Invoice No 000123 Qty 1"[: 4 + (row * 7) % 37]
        cv2.putText(page, text, (24, 48 + row * 54), cv2.FONT_HERSHEY_SIMPLEX, 0.7 + (row % 3) * 0.2, (0, 0, 0), 2)
    return page


def _line(rec: Recognition, quad: np.ndarray, flipped: bool, ink: bool) -> TextLine:
    """The reported line: the detector's box as `bounding_box` (PaddleOCR's convention, what
    users and ground truths such as SROIE's expect), the box fitted to the words read in it
    as `ink_box`, and its words' boxes from the recogniser's positions. A line of one word
    is that word: the word gets the ink box."""
    box = _corners(quad)
    ink_box = _corners(_fitted(quad, rec.box, flipped)) if ink and rec.box else None
    words = tuple(Word(w, _corners(span_quad(quad, (x0, x1, y0, y1), flipped))) for w, x0, x1, y0, y1 in rec.words)
    if len(words) == 1:
        words = (Word(words[0].text, ink_box or box),)
    return TextLine(text=rec.text, confidence=round(rec.confidence, 4), bounding_box=box, words=words,
                    ink_box=ink_box if ink_box != box else None)


def _extent(quad: np.ndarray) -> tuple[float, float, float, float]:
    xs, ys = quad[:, 0], quad[:, 1]
    return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())


def _corners(quad: np.ndarray) -> list[list[int]]:
    return [[int(round(x)), int(round(y))] for x, y in quad]


def _fitted(quad: np.ndarray, box: tuple[float, float, float, float], flipped: bool) -> np.ndarray:
    """The line's quad cut down to its text; the detector's quad if that leaves a sliver
    (the same 3 px floor detection applies to its own boxes)."""
    fitted = span_quad(quad, box, flipped)
    sides = np.linalg.norm(fitted - np.roll(fitted, -1, axis=0), axis=1)
    return fitted if sides.min() > 3 else quad
