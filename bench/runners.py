"""Engines under test, each living in its own process so its peak RSS is its own."""
from __future__ import annotations

import multiprocessing as mp
import resource
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
PEER_FILES = {
    "ppocrv6-small": ("ppocrv6-small/ppocrv6_small_det.onnx", "ppocrv6-small/ppocrv6_small_rec.onnx", "ppocrv6-small/ppocrv6_dict.txt"),
    "ppocrv5-mobile": ("ppocrv5-mobile/ppocrv5_mobile_det.onnx", "ppocrv5-mobile/ppocrv5_mobile_rec.onnx", "ppocrv5-mobile/ppocrv5_dict.txt"),
}
CLS_FILE = "ppocrv5-mobile/ch_ppocr_mobile_v2.0_cls.onnx"


def _make_ours(model: str, threads: int, overrides: dict):
    from dataclasses import replace

    from ocrcore import OcrEngine, PipelineConfig
    from ocrcore.det import DetConfig
    from ocrcore.rec import RecConfig

    config = PipelineConfig(
        det=replace(DetConfig(), **overrides.get("det", {})),
        rec=replace(RecConfig(), **overrides.get("rec", {})),
    )
    engine = OcrEngine(threads=threads, default_model=model, config=config, backend=overrides.get("backend", "onnxruntime"))

    def run(data: bytes):
        result = engine.run(data)
        return [(line.text, line.confidence, line.bounding_box) for line in result.lines], result.timings

    return run


def _make_peer(model: str, threads: int, overrides: dict):
    import cv2
    import numpy as np
    from rapidocr import RapidOCR

    det, rec, keys = PEER_FILES[model]
    engine = RapidOCR(
        params={
            "Global.log_level": "error",
            "Det.model_path": str(MODELS / det),
            "Rec.model_path": str(MODELS / rec),
            "Rec.rec_keys_path": str(MODELS / keys),
            "Cls.model_path": str(MODELS / CLS_FILE),
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )

    def run(data: bytes):
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        out = engine(image)
        if out.boxes is None:
            return [], {}
        lines = [(t, float(s), np.asarray(b).tolist()) for b, t, s in zip(out.boxes, out.txts, out.scores)]
        return lines, {k: v or 0.0 for k, v in zip(("det", "cls", "rec"), out.elapse_list)}

    return run


FACTORIES = {"ours": _make_ours, "rapidocr": _make_peer}


def ours_kinds(backends: list[str]) -> list[str]:
    """Engine labels for our pipeline on each backend: "ours" is onnxruntime, "ours-openvino" ...
    ("auto", the default, is labelled as what it resolves to on this machine)."""
    from ocrcore.session import resolve_backend

    resolved = dict.fromkeys(resolve_backend(b) for b in backends)
    return ["ours" if b == "onnxruntime" else f"ours-{b}" for b in resolved]


def make_engine(kind: str, model: str, threads: int, overrides: dict | None = None) -> EngineProcess:
    """An EngineProcess for a label from ours_kinds() or "rapidocr" (overrides: ours only)."""
    if kind == "rapidocr":
        return EngineProcess(kind, model, threads)
    backend = kind.split("-", 1)[1] if "-" in kind else "onnxruntime"
    return EngineProcess("ours", model, threads, {**(overrides or {}), "backend": backend})


def _serve(conn, kind: str, model: str, threads: int, overrides: dict) -> None:
    run = FACTORIES[kind](model, threads, overrides)
    while True:
        message = conn.recv()
        if message is None:
            conn.send(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
            return
        started = time.perf_counter()
        lines, stages = run(message)
        conn.send((time.perf_counter() - started, lines, stages))


class EngineProcess:
    """An engine in a child process; call it with image bytes, get (seconds, lines, stage seconds)."""

    def __init__(self, kind: str, model: str, threads: int, overrides: dict | None = None):
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, kind, model, threads, overrides or {}), daemon=True)
        self._process.start()

    def __call__(self, data: bytes):
        self._conn.send(data)
        return self._conn.recv()

    def close(self) -> int:
        """Stop the child and return its peak RSS in bytes."""
        self._conn.send(None)
        peak = self._conn.recv()
        self._process.join(10)
        return peak
