"""The one place onnxruntime sessions are configured and created."""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
import tempfile
from pathlib import Path

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


class OrtModel:
    """One ONNX model in one onnxruntime session with explicit, measured options."""

    def __init__(self, path: Path, threads: int, arena: bool = False):
        tame_heap_growth()
        options = ort.SessionOptions()
        # Never ORT's default of "all cores on the host": a worker child owns a core group.
        options.intra_op_num_threads = max(1, threads)
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

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch}, self.run_options)[0]
