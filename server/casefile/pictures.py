"""The pictures of the report: each copy with the protected photo outlined in red on it, in
HTML (an SVG over the image, in its own pixels) and in the PDF (drawn into a small JPEG); the
outline is server/casefile/outline.py's."""

from __future__ import annotations

import html
import io

from sentinelle.server.casefile.outline import Outline, visible_outline

# The outline of the protected photo on the evidence (the HTML's stroke is in the CSS).
OUTLINE = (228, 0, 43)


def outline_on(data: bytes | None, region: list | None) -> tuple[Outline, tuple[int, int]] | None:
    """What to outline on the evidence `data` (the protected photo's `region` clipped to it,
    server/casefile/outline.py) and the evidence's size; None when there is nothing to draw."""
    if not region or (size := _size(data)) is None:
        return None
    outline = visible_outline(region, *size)
    return (outline, size) if outline else None


def outlined_html(path: str, drawn: tuple[Outline, tuple[int, int]] | None, clip_id: str) -> str:
    """The evidence as the HTML report shows it: the image, and over it the outline (an SVG in
    the image's own pixels, so it scales with it). The stroke is clipped to the outline, so that
    it lies inside it and shows whole where the outline follows the image's edges."""
    img = f'<img src="{html.escape(path)}" alt="">'
    if drawn is None:
        return img
    outline, (width, height) = drawn
    points = " ".join(f"{x:g},{y:g}" for x, y in outline.points)
    return (f'<span class=seen>{img}<svg viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
            f'aria-hidden="true"><clipPath id="{clip_id}"><polygon points="{points}"/></clipPath>'
            f'<polygon points="{points}" clip-path="url(#{clip_id})"/></svg></span>')


def pdf_image(image_cls, data: bytes | None, side: float, outline: Outline | None = None):
    """A reportlab image of at most side × side, from any format Pillow reads, with `outline`
    (in its full-size pixels) drawn in red; None if unreadable."""
    if not data:
        return None
    from PIL import ImageDraw

    from sentinelle.proxy.engine.images import ImageError, open_image
    try:
        img = open_image(data, min_side=1)
    except ImageError:
        return None
    full_width = img.width
    img.thumbnail((800, 800))
    if outline:
        # Pillow draws a wide outline inside the polygon, and an image's last pixel is at its
        # width - 1: there, an outline along the image's edges shows whole.
        scale = img.width / full_width
        ImageDraw.Draw(img).polygon([(min(x * scale, img.width - 1), min(y * scale, img.height - 1))
                                     for x, y in outline.points], outline=OUTLINE, width=max(2, img.width // 200))
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=85)
    scale = side / max(img.size)
    out.seek(0)
    return image_cls(out, width=img.width * scale, height=img.height * scale)


def _size(data: bytes | None) -> tuple[int, int] | None:
    from sentinelle.proxy.engine.images import ImageError, upright_size
    try:
        return upright_size(data) if data else None
    except ImageError:
        return None
