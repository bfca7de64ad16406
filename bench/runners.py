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
    engine = OcrEngine(threads=threads, default_model=model, config=config, backend=overrides.get("backend", "onnxruntime"),
                       lanes=overrides.get("lanes"))

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


# faster-paddle's bundled models for our model sets: its "small" is PP-OCRv6 small, the same
# architecture as ppocrv6-small (its own paddle2onnx export, in the wheel). It has no v5 model:
# for ppocrv5-mobile it runs "tiny", its fastest, and the report says so.
FASTER_PADDLE_SIZES = {"ppocrv6-small": "small", "ppocrv5-mobile": "tiny"}


def _make_faster_paddle(model: str, threads: int, overrides: dict):
    from faster_paddle import OcrEngine as FasterPaddle

    # threads is its whole CPU budget (detector, recognition workers and its Rayon pool alike);
    # everything else stays at its defaults, which its README documents as measured.
    engine = FasterPaddle(model_size=FASTER_PADDLE_SIZES.get(model, "small"), threads=threads)

    def run(data: bytes):
        out = engine.ocr(data)
        lines = []
        for bound in out["bounds"].values():
            (x0, y0), (x1, y1) = bound["topLeftCoord"], bound["bottomRightCoord"]
            # It returns each line's axis-aligned box; as four corners, clockwise from top-left.
            lines.append((bound["text"], float(bound["confidence"]), [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]))
        return lines, {}  # no per-stage times: the whole call is native

    return run


FACTORIES = {"ours": _make_ours, "rapidocr": _make_peer, "faster-paddle": _make_faster_paddle}
PEERS = ("rapidocr", "faster-paddle")


def ours_kinds(backends: list[str]) -> list[str]:
    """Engine labels for our pipeline on each backend: "ours" is onnxruntime, "ours-openvino" ...
    ("auto", the default, is labelled as what it resolves to on this machine)."""
    from ocrcore.session import resolve_backend

    resolved = dict.fromkeys(resolve_backend(b) for b in backends)
    return ["ours" if b == "onnxruntime" else f"ours-{b}" for b in resolved]


def make_engine(kind: str, model: str, threads: int, overrides: dict | None = None) -> EngineProcess:
    """An EngineProcess for a label from ours_kinds() or a peer in PEERS (overrides: ours only)."""
    if kind in PEERS:
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
