"""The one place onnxruntime sessions are configured and created."""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


@functools.cache
def tame_heap_growth() -> bool:
    """Keep glibc from hoarding freed tensor memory (once per process; Linux only).

    Every call allocates tensors of new shapes. glibc raises its mmap threshold each
    time a large block is freed, so later large tensors land in the heap, fragment it
    and RSS creeps up run after run. A fixed threshold sends every tensor over 256 KiB
    to mmap, which is returned to the OS on free.
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, 256 * 1024)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 1 << 20))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False


class OrtModel:
    """One ONNX model in one onnxruntime session with explicit, measured options."""

    def __init__(self, path: Path, threads: int):
        tame_heap_growth()
        options = ort.SessionOptions()
        # Never ORT's default of "all cores on the host": a worker child owns a core group.
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Input shapes change on every call (image sizes, crop widths): memory patterns
        # are planned per shape and the arena keeps peak-sized blocks, so both only grow RSS.
        options.enable_mem_pattern = False
        options.enable_cpu_mem_arena = False
        options.log_severity_level = 3
        # Spinning worker threads burn the core between runs; the pipeline has Python gaps.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.path = path
        self.session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch})[0]

    def metadata(self) -> dict[str, str]:
        return dict(self.session.get_modelmeta().custom_metadata_map)
