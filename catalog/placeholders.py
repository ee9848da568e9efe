"""Placeholder product images drawn as SVG, so the store looks complete offline.

The picture depends only on the path (theme and key), so it is computed without touching the
database and can be cached by browsers forever.
"""

from __future__ import annotations

import hashlib
from html import escape

from django.urls import reverse

# One simple shape per theme, drawn in the middle of the picture.
_SHAPES = (
    '<circle cx="200" cy="170" r="80" fill="{fg}" opacity=".85"/>',
    '<rect x="120" y="90" width="160" height="160" rx="28" fill="{fg}" opacity=".85"/>',
    '<polygon points="200,80 290,250 110,250" fill="{fg}" opacity=".85"/>',
    '<ellipse cx="200" cy="170" rx="110" ry="70" fill="{fg}" opacity=".85"/>',
    '<path d="M200 85l25 55 60 6-45 40 13 59-53-31-53 31 13-59-45-40 60-6z" fill="{fg}"/>',
    '<rect x="110" y="120" width="180" height="100" rx="50" fill="{fg}" opacity=".85"/>',
)


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big")


def placeholder_url(*, theme: str, key: str) -> str:
    return reverse("catalog:placeholder_image", kwargs={"theme": theme, "key": key})


def placeholder_svg(*, theme: str, key: str) -> str:
    theme_hash, key_hash = _digest(theme), _digest(key)
    hue = (theme_hash % 360 + key_hash % 60 - 30) % 360
    shape = _SHAPES[theme_hash % len(_SHAPES)].format(fg=f"hsl({(hue + 180) % 360},45%,92%)")
    label = escape(theme.replace("-", " ").title())
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 400" role="img" '
        f'aria-label="{label}">'
        '<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="hsl({hue},55%,62%)"/>'
        f'<stop offset="1" stop-color="hsl({(hue + 40) % 360},60%,42%)"/>'
        "</linearGradient></defs>"
        '<rect width="400" height="400" fill="url(#g)"/>'
        f"{shape}"
        '<text x="200" y="330" font-family="system-ui,sans-serif" font-size="28" '
        f'fill="#fff" text-anchor="middle">{label}</text>'
        "</svg>"
    )
