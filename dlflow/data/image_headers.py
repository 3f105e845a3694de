"""A JPEG's mode and size read straight from its markers: the fast path of the image folder scan.

Opening each file with PIL costs most of `collect`'s pass over a large folder of JPEGs (PIL
parses every table of the header into Python objects). `jpeg_header` walks the marker segments
up to the start of scan instead and reads the frame header (SOFn) as PIL does: 8-bit samples,
1, 3 or 4 components (L, RGB, CMYK). Anything it does not recognise, or that PIL would treat
differently (a zero or decompression-bomb size, another bit depth, a broken segment chain),
gives None, and the caller asks PIL, so the answers (and the error messages) are PIL's.
"""

from __future__ import annotations

JPEG_MODES = {1: "L", 3: "RGB", 4: "CMYK"}  # components -> PIL mode (PIL's JpegImagePlugin.SOF)
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # frame headers (DHT, JPG and DAC are not)
_STANDALONE = frozenset([0x01, *range(0xD0, 0xD8)])  # TEM, RSTn: markers without a length
_SOS, _EOI = 0xDA, 0xD9


def jpeg_header(content: bytes, max_pixels: int | None) -> tuple[str, tuple[int, int]] | None:
    """(PIL mode, (width, height)) of a JPEG file's bytes, or None when PIL should be asked.

    Args:
        content: the whole file.
        max_pixels: PIL's `Image.MAX_IMAGE_PIXELS` (larger images are left to PIL's bomb check).
    """
    if not content.startswith(b"\xff\xd8\xff"):
        return None
    frame, at, end = None, 2, len(content)
    while at + 4 <= end:
        if content[at] != 0xFF:
            return None
        marker = content[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _STANDALONE:
            at += 2
            continue
        if marker == _SOS:
            return _checked(frame, max_pixels)
        if marker == _EOI:
            return None
        length = int.from_bytes(content[at + 2 : at + 4], "big")
        if length < 2 or at + 2 + length > end:
            return None
        if marker in _SOF:
            frame = content[at + 4 : at + 2 + length]
        at += 2 + length
    return None


def _checked(frame: bytes | None, max_pixels: int | None) -> tuple[str, tuple[int, int]] | None:
    """The mode and size in a frame header (precision, height, width, components), when PIL would agree."""
    if frame is None or len(frame) < 6 or frame[0] != 8 or frame[5] not in JPEG_MODES:
        return None
    height, width = int.from_bytes(frame[1:3], "big"), int.from_bytes(frame[3:5], "big")
    if not height or not width or (max_pixels is not None and width * height > max_pixels):
        return None
    return JPEG_MODES[frame[5]], (width, height)
