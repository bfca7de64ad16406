"""Make int8 variants of the shipped f32 models with onnxruntime.quantization, reproducibly.

    .venv/bin/python tools/quantize.py rec-dynamic   # quantize_dynamic, MatMul/Gemm only
    .venv/bin/python tools/quantize.py rec-qdq       # static QDQ, per-channel weights
    .venv/bin/python tools/quantize.py det-qdq       # the detector, same recipe
    options: --out DIR (default models/), --exclude-first/--exclude-last,
             --reduce-range, --method minmax|percentile, --lines N

Rules:
- The inputs are the verified f32 files of models/MANIFEST.txt; outputs never overwrite them.
- Calibration data is rendered here, deterministically (SEED), from bench/doctext/en-more.txt
  and zh-more.txt with real fonts (DejaVu, Noto CJK): text lines for the recogniser, small
  pages for the detector. Never sroie (the evaluation set), and not en.txt/zh.txt either,
  which bench.documents renders into its evaluation pages.
- Recognition inputs are made exactly as ocrcore.rec makes them (height 48, (x/255-0.5)/0.5,
  width a multiple of 8), detection inputs as ocrcore.det does.
- Only Conv and MatMul are quantized (QDQ around them); the element-wise ops, LayerNorm
  pieces and Softmax stay f32, where int8 would add conversions and save nothing.
"""
from __future__ import annotations

import argparse
import hashlib
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from ocrcore import registry  # noqa: E402
from ocrcore.rec import HEIGHT, _fill  # noqa: E402

SEED = 20261207
TEXTS = REPO / "bench" / "doctext"
FONTS = {
    "en": [f"/usr/share/fonts/truetype/dejavu/{name}.ttf" for name in
           ("DejaVuSans", "DejaVuSerif", "DejaVuSansMono", "DejaVuSans-Bold", "DejaVuSansCondensed")],
    "zh": [f"/usr/share/fonts/opentype/noto/{name}.ttc" for name in
           ("NotoSansCJK-Regular", "NotoSerifCJK-Regular", "NotoSansCJK-Bold")],
}
SOURCES = {
    "rec": ("ppocrv6-small/ppocrv6_small_rec.onnx", "ppocrv6-small/ppocrv6_small_rec.{tag}.onnx"),
    "det": ("ppocrv6-small/ppocrv6_small_det.onnx", "ppocrv6-small/ppocrv6_small_det.{tag}.onnx"),
}


def _snippets(rng: np.random.Generator, count: int) -> list[tuple[str, str]]:
    """(lang, text) pieces of the prose: English runs of 1-8 words (a third upper-cased,
    as receipts print), Chinese runs of 3-24 characters."""
    texts = {lang: " ".join((TEXTS / f"{lang}-more.txt").read_text(encoding="utf-8").split()) for lang in ("en", "zh")}
    words = texts["en"].split(" ")
    out: list[tuple[str, str]] = []
    for i in range(count):
        if i % 3 == 2:
            start, length = int(rng.integers(0, len(texts["zh"]) - 24)), int(rng.integers(3, 25))
            out.append(("zh", texts["zh"][start : start + length].strip() or "文字"))
        else:
            start, length = int(rng.integers(0, len(words) - 8)), int(rng.integers(1, 9))
            text = " ".join(words[start : start + length])
            out.append(("en", text.upper() if rng.random() < 0.34 else text))
    return out


def _render_line(lang: str, text: str, rng: np.random.Generator) -> np.ndarray:
    """A tight crop of one line, as the detector hands them over (a few px margin, BGR)."""
    font = ImageFont.truetype(FONTS[lang][int(rng.integers(0, len(FONTS[lang])))], int(rng.integers(18, 44)))
    left, top, right, bottom = font.getbbox(text)
    pad = int(rng.integers(2, 9))
    image = Image.new("L", (int(right - left) + 2 * pad, int(bottom - top) + 2 * pad), int(rng.integers(200, 256)))
    ImageDraw.Draw(image).text((pad - left, pad - top), text, fill=int(rng.integers(0, 70)), font=font)
    grey = np.asarray(image, dtype=np.float32) + rng.normal(0, 6, (image.height, image.width))
    return np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)


def rec_batches(lines: int) -> list[np.ndarray]:
    """Calibration inputs for the recogniser: batches of 4 width-sorted lines, as rec.py makes them."""
    rng = np.random.default_rng(SEED)
    crops = [_render_line(lang, text, rng) for lang, text in _snippets(rng, lines)]
    crops.sort(key=lambda c: c.shape[1] / c.shape[0])
    batches = []
    for start in range(0, len(crops), 4):
        group = crops[start : start + 4]
        widest = max(math.ceil(HEIGHT * c.shape[1] / c.shape[0]) for c in group)
        width = max(32, math.ceil(widest / 8) * 8)
        batch = np.zeros((len(group), 3, HEIGHT, width), dtype=np.float32)
        for row, crop in enumerate(group):
            _fill(batch[row], crop, width)
        batches.append(batch)
    return batches


def det_batches(pages: int) -> list[np.ndarray]:
    """Calibration inputs for the detector: small pages of the same lines, normalised as det.py does."""
    from ocrcore.det import _INV_STD, _MEAN

    rng = np.random.default_rng(SEED + 1)
    snippets = _snippets(rng, pages * 14)
    out = []
    for p in range(pages):
        page = np.full((640, 480), 255, np.uint8)
        y = 10
        for lang, text in snippets[p * 14 : (p + 1) * 14]:
            crop = _render_line(lang, text, rng)[:, :, 0][:, :470]
            if y + crop.shape[0] > 630:
                break
            x = int(rng.integers(0, 480 - crop.shape[1] + 1))
            page[y : y + crop.shape[0], x : x + crop.shape[1]] = crop
            y += crop.shape[0] + int(rng.integers(4, 20))
        bgr = np.repeat(page[:, :, None], 3, axis=2).astype(np.float32)
        out.append(np.ascontiguousarray(((bgr - _MEAN) * _INV_STD).transpose(2, 0, 1)[None]))
    return out


class _Reader:
    """onnxruntime's CalibrationDataReader over a list of input arrays."""

    def __init__(self, name: str, batches: list[np.ndarray]):
        self.items = iter([{name: b} for b in batches])

    def get_next(self):
        return next(self.items, None)

    def rewind(self) -> None:  # pragma: no cover - not used by minmax
        raise NotImplementedError


def quantize(kind: str, mode: str, out_dir: Path, args: argparse.Namespace) -> Path:
    import onnx
    import onnx.version_converter
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    source, target = SOURCES[kind]
    root = registry.models_dir()
    path = registry.verified_path(root, source, registry.read_manifest(root))
    tag = mode + ("-r" if args.reduce_range else "") + ("-xf" if args.exclude_first else "") + \
        ("-xl" if args.exclude_last else "") + ("" if args.method == "minmax" else f"-{args.method}")
    out = out_dir / target.format(tag=tag)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        prepared, upgraded = Path(tmp) / "prepared.onnx", Path(tmp) / "opset13.onnx"
        # The files are opset 11, where DequantizeLinear has no `axis`: per-channel weights need 13.
        onnx.save(onnx.version_converter.convert_version(onnx.load(str(path)), 13), str(upgraded))
        # Shape inference, as the quantizer's docs ask (the symbolic pass would need sympy,
        # which the venv lacks; the models' only dynamic dims are batch and width), and no
        # graph optimisation: the session does that.
        quant_pre_process(str(upgraded), str(prepared), skip_optimization=True, skip_symbolic_shape=True)
        graph = onnx.load(str(prepared))
        nodes = [n for n in graph.graph.node if n.op_type in ("Conv", "MatMul", "Gemm")]
        exclude = []
        if args.exclude_first:
            exclude.append(nodes[0].name)
        if args.exclude_last:
            exclude.append(nodes[-1].name)
        if mode == "dynamic":
            quantize_dynamic(str(prepared), str(out), op_types_to_quantize=["MatMul", "Gemm"],
                             weight_type=QuantType.QInt8, reduce_range=args.reduce_range,
                             nodes_to_exclude=exclude)
        else:
            batches = rec_batches(args.lines) if kind == "rec" else det_batches(max(8, args.lines // 10))
            method = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile}[args.method]
            quantize_static(str(prepared), str(out), _Reader("x", batches), quant_format=QuantFormat.QDQ,
                            op_types_to_quantize=["Conv", "MatMul"], per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            reduce_range=args.reduce_range, nodes_to_exclude=exclude,
                            calibrate_method=method,
                            extra_options={"CalibTensorRangeSymmetric": False})
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    print(f"{out.relative_to(REPO) if out.is_relative_to(REPO) else out} | {out.stat().st_size} | {digest}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variant", choices=["rec-dynamic", "rec-qdq", "det-qdq"])
    parser.add_argument("--out", type=Path, default=REPO / "models")
    parser.add_argument("--exclude-first", action="store_true", help="keep the first conv in f32")
    parser.add_argument("--exclude-last", action="store_true", help="keep the last conv/matmul (the classifier) in f32")
    parser.add_argument("--reduce-range", action="store_true", help="7-bit weights (u8s8 without VNNI can saturate)")
    parser.add_argument("--method", choices=["minmax", "percentile"], default="minmax")
    parser.add_argument("--lines", type=int, default=240, help="calibration lines (rec) / 10x pages (det)")
    args = parser.parse_args()
    kind, mode = args.variant.split("-")
    quantize(kind, mode, args.out, args)


if __name__ == "__main__":
    main()
