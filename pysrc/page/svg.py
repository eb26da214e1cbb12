"""SVG markup and number formatting. Non-finite numbers are refused here, so `NaN` can never reach an attribute."""

import math
from html import escape


class NonFiniteError(ValueError):
    """A NaN or infinity on its way into the page."""


def num(value, digits=2):
    """A finite number as short SVG text: fixed digits, trailing zeros dropped."""
    if not math.isfinite(value):
        raise NonFiniteError(f"refusing to draw the non-finite value {value!r}")
    text = f"{value:.{digits}f}"
    text = text.rstrip("0").rstrip(".") if digits > 0 else text  # 180 stays 180; 1.50 becomes 1.5
    return "0" if text in ("-0", "") else text


def attrs(**items):
    """Attributes as markup; trailing underscores are dropped (class_) and other underscores become dashes."""
    parts = []
    for key, value in items.items():
        if value is None:
            continue
        name = key.rstrip("_").replace("_", "-")
        text = num(value) if isinstance(value, float) else str(value)
        parts.append(f'{name}="{escape(text)}"')
    return " ".join(parts)


def element(tag, content="", **items):
    """One element; content is markup already (escape text with `text`)."""
    return f"<{tag} {attrs(**items)}>{content}</{tag}>" if content else f"<{tag} {attrs(**items)}/>"


def arrow_marker(marker_id):
    """<defs> with an arrowhead that takes its line's colour; a path ends in it with marker-end="url(#id)"."""
    return element(
        "defs",
        element(
            "marker",
            element("path", d="M0 0L10 5L0 10z", fill="context-stroke"),
            id=marker_id,
            viewBox="0 0 10 10",
            refX=9,
            refY=5,
            markerWidth=6,
            markerHeight=6,
            orient="auto",
        ),
    )


def text(value):
    return escape(str(value))


def polyline_points(points):
    """A polyline's `points` attribute from (x, y) pairs."""
    return " ".join(f"{num(x)},{num(y)}" for x, y in points)
