"""The image folder scan's JPEG fast path reads what PIL reads, and leaves to PIL what it cannot read."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from dlflow.data.image_files import check_image_bytes
from dlflow.data.image_headers import jpeg_header

RGB = Image.fromarray(np.random.default_rng(0).integers(0, 255, (37, 53, 3), dtype=np.uint8))


def _jpeg(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def _exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "camera"
    return exif.tobytes()


VARIANTS = {
    "rgb": lambda: _jpeg(RGB),
    "grayscale": lambda: _jpeg(RGB.convert("L")),
    "cmyk": lambda: _jpeg(RGB.convert("CMYK")),
    "progressive": lambda: _jpeg(RGB, progressive=True),
    "optimized": lambda: _jpeg(RGB, optimize=True, quality=30),
    "exif and a large icc profile": lambda: _jpeg(RGB, exif=_exif(), icc_profile=b"x" * 70_000),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_jpeg_header_gives_pils_mode_and_size(variant):
    content = VARIANTS[variant]()
    with Image.open(io.BytesIO(content)) as image:
        expected = (image.mode, image.size)
    assert jpeg_header(content, Image.MAX_IMAGE_PIXELS) == expected
    assert check_image_bytes(content) == expected


def test_what_the_fast_path_cannot_read_is_left_to_pil(monkeypatch):
    content = _jpeg(RGB)
    assert jpeg_header(content[:100], Image.MAX_IMAGE_PIXELS) is None  # the segment chain is cut
    assert jpeg_header(content, 53 * 37 - 1) is None  # past the decompression-bomb limit: PIL decides
    assert jpeg_header(b"\x89PNG\r\n\x1a\n" + content[8:], None) is None  # not a JPEG
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    assert "decompression-bomb" in check_image_bytes(content)  # PIL's own verdict and message
    assert check_image_bytes(content[:100]).startswith("not an image")
