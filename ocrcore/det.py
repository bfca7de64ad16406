"""Text detection: DB probability map -> text-line quads in original-image pixels."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pyclipper

from .session import DET_SIDE_MULTIPLE, Model


@dataclass(frozen=True)
class DetConfig:
    # Small scans are upscaled until the short side reaches min_side: at native size the
    # lines of a 460 px wide receipt merge in the probability map (sroie-dev det F1 -0.01).
    min_side: int = 736
    max_upscale: float = 2.0  # small images with big text gain nothing from more
    limit_side: int = 2048  # cap on the long side, so a phone photo costs a bounded amount
    thresh: float = 0.3  # probability -> text pixel
    box_thresh: float = 0.5  # mean probability inside a candidate's outline
    unclip_ratio: float = 1.6
    # A cap on outlines per image, for cost. findContours lists them bottom-up, so a cap
    # reached drops the top of the page: a dense statistical table (50 rows x 26 columns of
    # figures) has well over 1000 lines, and PaddleOCR's 1000 lost its title and first rows.
    max_candidates: int = 10000
    dilate: bool = True
    min_box_side: float = 3.0


@dataclass(frozen=True)
class Detection:
    quads: list[np.ndarray]  # float32 [4, 2], clockwise from top-left
    input_shape: tuple[int, int]  # (h, w) of the image at the model's scale (before any bucket padding)


# DB models were trained on BGR input normalised with mean/std 0.5 (scale 1/255).
_MEAN = np.float32(0.5 * 255.0)
_INV_STD = np.float32(1.0 / (0.5 * 255.0))


def detect(model: Model, image: np.ndarray, config: DetConfig) -> Detection:
    height, width = image.shape[:2]
    resized = _resize_for_det(image, config)
    fed = _pad_to_bucket(resized) if model.shape_buckets else resized
    batch = ((fed.astype(np.float32) - _MEAN) * _INV_STD).transpose(2, 0, 1)[None]
    # The map of the padding is cut off: the scale from map to image is the resized one.
    prob = model(np.ascontiguousarray(batch))[0, 0, : resized.shape[0], : resized.shape[1]]
    quads = _quads_from_map(prob, width, height, config)
    return Detection(quads=quads, input_shape=resized.shape[:2])


def _resize_for_det(image: np.ndarray, config: DetConfig) -> np.ndarray:
    height, width = image.shape[:2]
    ratio = 1.0
    if config.min_side and min(height, width) < config.min_side:
        ratio = min(config.min_side / min(height, width), config.max_upscale)
    if max(height, width) * ratio > config.limit_side:
        ratio = config.limit_side / max(height, width)
    new_h = max(32, int(round(height * ratio / 32)) * 32)
    new_w = max(32, int(round(width * ratio / 32)) * 32)
    if (new_h, new_w) == (height, width):
        return image
    interpolation = cv2.INTER_AREA if ratio < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, (new_w, new_h), interpolation=interpolation)


def _pad_to_bucket(image: np.ndarray) -> np.ndarray:
    """The image padded right and below to whole DET_SIDE_MULTIPLEs with its border's
    median colour (the page's background, not a smear of edge text), scale unchanged."""
    height, width = image.shape[:2]
    pad_h = -height % DET_SIDE_MULTIPLE
    pad_w = -width % DET_SIDE_MULTIPLE
    if not pad_h and not pad_w:
        return image
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    colour = [int(c) for c in np.median(border, axis=0)]
    return cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=colour)


def _quads_from_map(prob: np.ndarray, width: int, height: int, config: DetConfig) -> list[np.ndarray]:
    map_h, map_w = prob.shape
    mask: np.ndarray = (prob > config.thresh).astype(np.uint8)
    if config.dilate:
        mask = cv2.dilate(mask, np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    scale = np.array([width / map_w, height / map_h], dtype=np.float32)
    quads = []
    for contour in contours[: config.max_candidates]:
        outline = contour.reshape(-1, 2)
        box, short_side = _min_area_box(outline)
        if short_side < config.min_box_side:
            continue
        if _region_score(prob, outline) < config.box_thresh:
            continue
        expanded = _unclip(box, config.unclip_ratio)
        if expanded is None:
            continue
        box, short_side = _min_area_box(expanded)
        if short_side < config.min_box_side + 2:
            continue
        # Whole pixels: the crop is then exactly the box reported to the user.
        box = np.round(box * scale)
        box[:, 0] = np.clip(box[:, 0], 0, width - 1)
        box[:, 1] = np.clip(box[:, 1], 0, height - 1)
        if _side_lengths(box).min() <= 3:
            continue
        quads.append(box.astype(np.float32))
    return quads


def _min_area_box(points: np.ndarray) -> tuple[np.ndarray, float]:
    rect = cv2.minAreaRect(points.astype(np.float32))
    corners = cv2.boxPoints(rect)
    return order_clockwise(corners), float(min(rect[1]))


def order_clockwise(points: np.ndarray) -> np.ndarray:
    """Order 4 corners as top-left, top-right, bottom-right, bottom-left."""
    by_x = points[np.argsort(points[:, 0], kind="stable")]
    left, right = by_x[:2], by_x[2:]
    top_left, bottom_left = left[np.argsort(left[:, 1], kind="stable")]
    top_right, bottom_right = right[np.argsort(right[:, 1], kind="stable")]
    return np.array([top_left, top_right, bottom_right, bottom_left], dtype=np.float32)


def _region_score(prob: np.ndarray, outline: np.ndarray) -> float:
    """Mean probability inside the candidate's own outline (DB's "slow" score), not its
    rotated bounding rectangle: a lone digit or a short slanted word is a few map pixels
    wide, and the rectangle's corners of background pulled such candidates under
    box_thresh while the text itself scored 0.95 (sroie-dev quantity columns: 16 of 42
    missed lone "1"s found; word F1 +0.0009, det F1 -0.0008, v5 mobile unchanged)."""
    h, w = prob.shape
    x0 = int(np.clip(outline[:, 0].min(), 0, w - 1))
    x1 = int(np.clip(outline[:, 0].max(), 0, w - 1))
    y0 = int(np.clip(outline[:, 1].min(), 0, h - 1))
    y1 = int(np.clip(outline[:, 1].max(), 0, h - 1))
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    shifted = (outline - np.array([x0, y0])).astype(np.int32)
    cv2.fillPoly(mask, [shifted], 1)
    return float(cv2.mean(prob[y0 : y1 + 1, x0 : x1 + 1], mask)[0])


def _unclip(box: np.ndarray, ratio: float) -> np.ndarray | None:
    """Grow the shrunk DB kernel back to the text extent (Vatti offset by area*ratio/perimeter)."""
    area = abs(cv2.contourArea(box))
    perimeter = cv2.arcLength(box, True)
    if perimeter == 0:
        return None
    distance = area * ratio / perimeter
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(box.astype(np.int64).tolist(), pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    expanded = offset.Execute(distance)
    if len(expanded) != 1:
        return None
    return np.array(expanded[0], dtype=np.float32)


def _side_lengths(box: np.ndarray) -> np.ndarray:
    return np.linalg.norm(box - np.roll(box, -1, axis=0), axis=1)
