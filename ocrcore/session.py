"""The one place inference sessions (onnxruntime, or OpenVINO) are configured and created."""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import onnxruntime as ort

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


@functools.cache
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return libc if libc is not None and hasattr(libc, "malloc_trim") else None  # glibc only
    except OSError:
        return None


@functools.cache
def tame_heap_growth() -> bool:
    """Keep glibc from hoarding freed tensor memory (once per process; glibc only).

    Every call allocates tensors of new shapes. glibc raises its mmap threshold each
    time a large block is freed, so later large tensors land in the heap, fragment it
    and RSS creeps up run after run (+28% over 300 varied sroie-dev runs). A fixed
    threshold stops that drift; release_free_heap() then hands freed pages back after
    each image. (A low threshold would do it too, but page-faulting every tensor in
    fresh from mmap made the pipeline 2x slower.)
    """
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, 64 << 20)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 8 << 20))


def release_free_heap() -> None:
    """Return free heap pages to the OS (cheap next to a model run)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def _session_with_folded_constants(path: Path, options: ort.SessionOptions) -> ort.InferenceSession:
    """A session on the model with constants folded into its convolutions (see fold.py).

    The folded graph goes through a short-lived temporary file: a session built from
    in-memory bytes kept 30 MiB more resident than one built from a file. onnx is
    imported here, where sessions are made, so the gateway never loads it.
    """
    import onnx

    from .fold import fold_conv_affine

    graph = onnx.load(str(path))
    fold_conv_affine(graph)
    with tempfile.NamedTemporaryFile(suffix=".onnx") as folded:
        folded.write(graph.SerializeToString())
        folded.flush()
        del graph
        return ort.InferenceSession(folded.name, sess_options=options, providers=["CPUExecutionProvider"])


def padded_rows(rows: int) -> int:
    """Batch rows for a bucketed model: the next power of two (1, 2, 4, 8, 16)."""
    return 1 << max(0, rows - 1).bit_length()


# Recognition batch widths of a bucketed model: eight per doubling (32, 40, 48, 56, 64, 72,
# 80, 88, 96, 104, 120, ...), each a whole number of output steps (8 columns). Padding
# moves what the recogniser reads (its mixing blocks see the whole width): on sroie-dev with
# onnxruntime, four per doubling with 128-px detection buckets cost word F1 0.0024 (0.8799
# -> 0.8775); eight per doubling with 64-px ones 0.0002 (0.8797), det F1 0.9025 -> 0.9024.
REC_WIDTH_RATIO = 2 ** 0.125
# Detection inputs of a bucketed model: both sides padded up to a multiple of this (3.6%
# more pixels on 100 varied receipts; sroie-dev's 736-wide receipts become 768). Those 100
# runs still gave 44 shapes: the cache bound below, not the buckets, caps detection's memory.
DET_SIDE_MULTIPLE = 64


def bucket_width(width: int, minimum: int, step: int) -> int:
    """The smallest bucket width >= width: minimum * REC_WIDTH_RATIO**k rounded up to step."""
    bucket = float(minimum)
    while math.ceil(bucket / step) * step < width:
        bucket *= REC_WIDTH_RATIO
    return math.ceil(bucket / step) * step


class OrtModel:
    """One ONNX model in one onnxruntime session with explicit, measured options."""

    # onnxruntime keeps nothing per input shape (RSS flat over 300 varied runs), so its
    # inputs are never padded to buckets: padding would only cost time.
    shape_buckets = False

    def __init__(self, path: Path, threads: int, arena: bool = False, lanes: int = 1):
        tame_heap_growth()
        options = ort.SessionOptions()
        # Never ORT's default of "all cores on the host": a worker child owns a core group.
        # With lanes, the session is one-threaded and `lanes` callers run it at once
        # (InferenceSession.run is thread-safe; one copy of the weights): see run_in_lanes.
        self.lanes = max(1, lanes)
        options.intra_op_num_threads = 1 if self.lanes > 1 else max(1, threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Input shapes change on every call (image sizes, crop widths): memory patterns
        # are planned per shape and the arena keeps peak-sized blocks, so both only grow RSS.
        # Detection asks for an arena, handed back after each run (see OcrEngine._load).
        options.enable_mem_pattern = False
        options.enable_cpu_mem_arena = arena
        options.log_severity_level = 3
        # Spinning worker threads burn the core between runs; the pipeline has Python gaps.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # Flush denormal floats to zero: the DB detectors produce many, and x86 handles
        # them in slow microcode (det 1.4x faster on sroie-dev, same outputs).
        options.add_session_config_entry("session.set_denormal_as_zero", "1")
        self.path = path
        self.session = _session_with_folded_constants(path, options)
        self.input_name = self.session.get_inputs()[0].name
        self.run_options = ort.RunOptions()
        if arena:
            # Hand the arena back after every run, so RSS stays flat between images.
            self.run_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

    def __call__(self, batch: np.ndarray, lane: int = 0) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch}, self.run_options)[0]


class OvModel:
    """One ONNX model compiled by OpenVINO for the CPU, with OrtModel's call signature.

    OpenVINO reads the ONNX file directly (it fuses the per-channel affines itself, so the
    folding step is not needed) and compiles it once with dynamic shapes; a new input
    shape costs a shape inference, not a compile. The precision is asked for explicitly:
    on CPUs with avx512_bf16 OpenVINO otherwise picks bf16 by itself, which moves outputs
    by up to 0.08; "bf16" is only a hint, so a CPU without bf16 runs f32.
    Memory for a shape is kept by the infer request and reused by the next call, like an
    arena, and never handed back: handing it back after each run or image
    (CompiledModel.release_memory) returned it to the heap, and the engine's heap trim then
    to the OS, so every run faulted it in again. Kept, on sroie-dev (v6 small bf16, same
    runs as onnxruntime): 1.653x RapidOCR against 1.52-1.58x, detection 0.25 s a receipt
    against 0.28; the RSS ceiling rises from 0.83 to 1.27 GiB (bench.memory: 1191 -> 1272
    MiB over 300 varied runs, +6.7%, flat from run 200).
    """

    # OpenVINO keeps compiled kernels for every input shape it has run (measured ~5 MiB a
    # shape, det, cls and rec alike): inputs of a model that caches them are padded to a
    # bounded set of shapes (shape_buckets, set per model below).

    def __init__(self, path: Path, threads: int, precision: str = "f32", cache_entries: int = 0, lanes: int = 1):
        tame_heap_growth()
        # With lanes, one compiled model (one copy of the weights) runs `lanes` streams of one
        # thread each, an infer request per lane (see run_in_lanes).
        self.lanes = max(1, lanes)
        core = openvino_core()
        if precision == "bf16" and "BF16" not in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
            precision = "f32"  # OpenVINO would fall back by itself; said here so it is ours to log
        config = {
            "INFERENCE_NUM_THREADS": max(1, threads, self.lanes),  # the core group, never the host
            "NUM_STREAMS": self.lanes,
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": precision,
            "ENABLE_CPU_PINNING": False,  # the worker child pins itself to its group
            "CPU_RUNTIME_CACHE_CAPACITY": cache_entries,  # executors kept for shapes seen (below)
            # Denormals flushed to zero, as onnxruntime's session.set_denormal_as_zero: 30 receipts
            # on openvino-bf16 0.786 s against 0.816 s each (rec 0.462 against 0.486), same reading.
            "CPU_DENORMALS_OPTIMIZATION": True,
        }
        self.path = path
        self.compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
        self.requests = [self.compiled.create_infer_request() for _ in range(self.lanes)]
        self.precision = self.compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()  # what runs: f32, bf16
        self.shape_buckets = cache_entries > 0  # with no cache, padding would only cost time

    def __call__(self, batch: np.ndarray, lane: int = 0) -> np.ndarray:
        request = self.requests[lane]
        request.infer([batch])
        # A copy: the output tensor's memory belongs to the request and the next call.
        return np.array(request.get_output_tensor(0).data, copy=True)


# Why a child's RSS grew with the shapes it had seen (1.30 GB after 30 varied receipts,
# 2.11 GB after 200): OpenVINO's CPU plugin keeps the node executors (oneDNN primitives,
# JIT code) built for every input shape in a cache per compiled model, 5000 entries by
# default, and oneDNN keeps the same primitives in a process-wide cache of 1024. Each new
# shape held ~5 MiB (det, cls and rec alike: 60 distinct rec widths +316 MiB, the same 20
# widths cycled: flat after the first pass). Inputs are padded to buckets (above), and the
# caches are bounded, so RSS has a ceiling however many shapes arrive (a cap in entries,
# not bytes: a bigger shape's entries may weigh more).
# - Recognition (and the classifier) keep 500 entries: the widths of one image's batches
#   change from batch to batch, and at 100 entries a stream of receipts rebuilt them all the
#   time (rec 0.57-0.60 s a receipt against 0.49 s at 500; onnxruntime 0.63 s).
# - Detection keeps none: each receipt is a new page size anyway (the same 0.25 s a receipt
#   with 0 or 100 entries), and a request keeps the executors of the shape it ran last, so
#   a PDF's equal pages after the first cost no rebuild. Over 300 varied receipts
#   (bench.memory) that took the climb from run 30 from 832 -> 916 MiB after 200 runs
#   (+10%, still climbing) with 500 entries for every model to 782 -> 832 (+6.4%).
OV_RUNTIME_CACHE_CAPACITY = 500
# - oneDNN's cache, off: the executors above hold their primitives already (same RSS and
#   stage seconds with it at 0 as at 1024 when OpenVINO's cache is large); with OpenVINO's
#   cache bounded it keeps more primitives alive beside it (892 MiB after 300, not 875).
ONEDNN_PRIMITIVE_CACHE_CAPACITY = 0


@functools.cache
def openvino_core():  # -> openvino.Core (imported here only: the gateway never loads it)
    """The process's one OpenVINO Core, made on first use and never released.

    Signal safety: OpenVINO's CPU plugin (one per Core) gives the thread that loads it a
    signal stack of its own (sigaltstack, for AMX state) and unmaps that stack when the
    plugin is destroyed, putting back the one it found only if its own is still current.
    With a Core per model, models released in any order but the reverse of their creation
    left the thread's signal stack pointing at unmapped memory; Python installs its
    handlers with SA_ONSTACK, so the next SIGALRM (page_time_limit) or SIGUSR1 (Celery's
    soft time limit) on that thread was a SIGSEGV (si_code SI_KERNEL). One Core for the
    life of the process means one plugin, one signal stack, never unmapped while in use.
    """
    # Read by oneDNN when it first makes a primitive; an operator's own setting wins.
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", str(ONEDNN_PRIMITIVE_CACHE_CAPACITY))
    import openvino as ov

    return ov.Core()


BACKENDS = ("auto", "onnxruntime", "openvino", "openvino-bf16")  # openvino is f32; -bf16 the precision hint
# The default: openvino-bf16 where it pays, onnxruntime elsewhere (resolve_backend). With
# native bf16, OpenVINO is 1.4x onnxruntime's speed at the same det and word F1 (docs/PERFORMANCE.md,
# "Receipts" and "A4 pages"); in f32 it gains only 1.06-1.14x end to end, under the 1.15x that
# would be worth its memory (a ceiling of ~1.27 GiB a child against onnxruntime's flat 0.38).
DEFAULT_BACKEND = "auto"


def native_bf16() -> bool:
    """Whether OpenVINO is installed and this CPU computes bf16 itself (avx512_bf16, AMX)."""
    try:
        core = openvino_core()
    except ImportError:
        return False
    return "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def resolve_backend(name: str) -> str:
    """The backend that runs for a configured name: `auto` becomes openvino-bf16 or onnxruntime."""
    if name not in BACKENDS:
        raise ValueError(f"unknown OCR backend {name!r}: choose one of {', '.join(BACKENDS)}")
    if name == "auto":
        return "openvino-bf16" if native_bf16() else "onnxruntime"
    return name


Model = OrtModel | OvModel  # both: model(batch) -> first output


def load_model(
    backend: str, path: Path, threads: int, arena: bool = False, shape_cache: bool = True, lanes: int = 1
) -> Model:
    """A model on a resolved backend (resolve_backend: never `auto` here).

    `lanes`: how many calls may run at once, one thread each (run_in_lanes), instead of
    one call at a time on `threads` threads.
    `arena`: onnxruntime gives the model an arena, handed back after each run (OpenVINO's
    request always keeps its memory); `shape_cache`: OpenVINO keeps the kernels of the shapes
    it has run (OV_RUNTIME_CACHE_CAPACITY), not only of the last one.
    """
    entries = OV_RUNTIME_CACHE_CAPACITY if shape_cache else 0
    if backend == "onnxruntime":
        return OrtModel(path, threads, arena=arena, lanes=lanes)
    if backend == "openvino":
        return OvModel(path, threads, precision="f32", cache_entries=entries, lanes=lanes)
    if backend == "openvino-bf16":
        return OvModel(path, threads, precision="bf16", cache_entries=entries, lanes=lanes)
    raise ValueError(f"unknown OCR backend {backend!r}: choose one of {', '.join(BACKENDS)}")


_T = TypeVar("_T")


def run_in_lanes(model: Model, jobs: Sequence[Callable[[int], _T]]) -> list[_T]:
    """Run jobs (each called with the lane it runs on) on the model's lanes; results in order.

    Lanes take the next job as they come free, in the order given (callers put the biggest
    first, so the last ones to finish are small). The calling thread is lane 0, so a signal
    handler (the worker's page time limit) runs in it as before; if it raises, the other
    lanes stop after the job in hand. One-lane models run the jobs in the caller.

    Why lanes, measured (PP-OCRv6 small recogniser, the 296 line crops of 6 sroie-dev
    receipts, batches of 4, onnxruntime, 2 cores, 3 alternating rounds): one session on 2
    threads 9.9 s (median; 6.0-11.1), the same session called from 2 threads, 1 thread each
    4.6 s (4.1-4.8). A line's tensors are small (48 x a few hundred), so each of the ~200 ops
    of a call is too short to split across threads; the pool's hand-offs and its wait for the
    slower thread at each op (worse when a neighbour holds a core) cost more than the split.
    """
    if model.lanes <= 1 or len(jobs) <= 1:
        return [job(0) for job in jobs]
    results: list[Any] = [None] * len(jobs)
    errors: list[BaseException] = []
    lock = threading.Lock()
    pending = iter(range(len(jobs)))
    stop = threading.Event()

    def lane(number: int) -> None:
        while not stop.is_set():
            with lock:
                index = next(pending, None)
            if index is None:
                return
            try:
                results[index] = jobs[index](number)
            except BaseException as exc:  # re-raised in the caller
                errors.append(exc)
                stop.set()
                return

    executor = _lane_executor(model)
    helpers = [executor.submit(lane, n) for n in range(1, min(model.lanes, len(jobs)))]
    try:
        lane(0)
        for helper in helpers:
            helper.result()
    finally:
        stop.set()
    if errors:
        raise errors[0]
    return results


_executors: dict[int, tuple[int, ThreadPoolExecutor]] = {}
_executors_lock = threading.Lock()


def _lane_executor(model: Model) -> ThreadPoolExecutor:
    """The helper threads of the process for `model.lanes` lanes (made after any fork: a
    worker child loads its models, and so makes these, itself)."""
    with _executors_lock:
        found = _executors.get(model.lanes)
        if found is None or found[0] != os.getpid():
            executor = ThreadPoolExecutor(max_workers=model.lanes - 1, thread_name_prefix="ocr-lane")
            found = _executors[model.lanes] = (os.getpid(), executor)
        return found[1]
