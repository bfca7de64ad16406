"""Decoding every kind of image a user may send."""
import io

import numpy as np
import pytest
from PIL import Image

from ocrcore import ImageDecodeError, ImageTooLargeError, decode_image
from tests.core.textimages import encode, text_image, words_of


def _exif_rotated_jpeg() -> tuple[bytes, Image.Image]:
    """Pixels stored rotated, with EXIF Orientation=6 telling viewers to turn them back upright."""
    upright = text_image()
    stored = upright.rotate(90, expand=True)  # 90 ccw; orientation 6 = rotate 90 cw to display
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(stored, "JPEG", exif=exif.tobytes(), quality=95), upright


def test_exif_orientation_is_applied(engine):
    data, upright = _exif_rotated_jpeg()
    bgr = decode_image(data)
    assert bgr.shape[:2] == (upright.height, upright.width)
    assert "INVOICE" in words_of(engine.run(data))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF"])
def test_each_format_decodes_to_bgr(fmt):
    bgr = decode_image(encode(text_image(), fmt))
    assert bgr.dtype == np.uint8 and bgr.ndim == 3 and bgr.shape[2] == 3
    assert bgr.min() < 60 and bgr.max() > 200  # dark text on light paper survived


def test_alpha_is_composited_on_white():
    image = Image.new("RGBA", (40, 20), (0, 0, 0, 0))  # fully transparent black
    image.paste((255, 0, 0, 255), (0, 0, 10, 20))  # opaque red stripe
    bgr = decode_image(encode(image, "PNG"))
    assert tuple(bgr[10, 30]) == (255, 255, 255)
    assert tuple(bgr[10, 5]) == (0, 0, 255)


def test_palette_with_transparency_is_composited_on_white():
    image = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    image.paste((0, 0, 0, 255), (0, 0, 10, 20))
    data = encode(image.convert("P"), "GIF", transparency=0)
    bgr = decode_image(data)
    assert bgr[10, 30].min() > 200


@pytest.mark.parametrize("mode", ["L", "1", "CMYK", "P", "LA"])
def test_odd_modes(engine, mode):
    image = text_image(mode=mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    data = encode(image, fmt)
    assert decode_image(data).shape == (image.height, image.width, 3)
    assert "INVOICE" in words_of(engine.run(data))


def test_sixteen_bit_grey_is_scaled_not_clipped(engine):
    grey = np.asarray(text_image().convert("L"), dtype=np.uint16) * 257
    image = Image.fromarray(grey)
    data = encode(image, "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    bgr = decode_image(data)
    assert bgr.max() == 255 and bgr.min() == 0
    assert "INVOICE" in words_of(engine.run(data))


def test_animated_gif_uses_the_first_frame():
    first = Image.new("RGB", (30, 30), "white")
    second = Image.new("RGB", (30, 30), "black")
    data = encode(first, "GIF", save_all=True, append_images=[second])
    assert decode_image(data).min() > 200


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"hello, I am not an image", "not a decodable image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not a decodable image"),
        (b"%PDF-1.7\n%%EOF", "not a decodable image"),
    ],
)
def test_bad_bytes_raise_decode_error(data, message):
    with pytest.raises(ImageDecodeError, match=message):
        decode_image(data)


def test_truncated_jpeg_is_a_decode_error():
    data = encode(text_image(), "JPEG")
    with pytest.raises(ImageDecodeError):
        decode_image(data[: len(data) // 3])


def test_pixel_cap_refuses_bombs_before_decoding():
    bomb = encode(Image.new("L", (6000, 6000), 255), "PNG")  # tiny file, 36 MP
    with pytest.raises(ImageTooLargeError, match="36000000 pixels"):
        decode_image(bomb, max_pixels=10_000_000)
