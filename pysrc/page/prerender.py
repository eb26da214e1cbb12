"""The first view, rendered into index.html before any Python runs in the browser (by serve.py, at serve and
build time), so the page is useful at first paint: the latent map, the preset digit, its encoding and its
reconstruction. Python then takes over the same elements. The numbers come from models/first_view.json, which
training writes from the shipped models, so the static view is exactly what the live page computes.
"""

import base64
import json
import re
import struct
import zlib
from html import unescape

from page import artifacts
from page.state import CANVAS
from page.svg import num
from vae import decoder, digit_input, latent_plot, narrate


def png_data_url(gray, width, height):
    """8-bit grayscale rows as a PNG data URL; zlib and struct are all a PNG needs."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(gray[y * width : (y + 1) * width]) for y in range(height))
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(png).decode()


def ink(pixels):
    """Intensities in [0, 1] as the page's gray levels (dark ink on white), one byte per pixel."""
    return decoder.grayscale_rgba(pixels)[0::4]


def _fill(html, element_id, content, **attributes):
    """Put `content` inside the element with this id (and set attributes on it); unknown ids are an error."""
    pattern = re.compile(rf'(<(\w+)[^>]*\bid="{element_id}"[^>]*?)(/?)>(.*?)</\2>', re.S)
    match = pattern.search(html)
    if match is None:
        raise ValueError(f"index.html has no element with id {element_id!r} to prerender")
    start = match.group(1) + "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attributes.items())
    return html[: match.start()] + f"{start}>{content}</{match.group(2)}>" + html[match.end() :]


def render_index(html, latent_manifest, latent_bytes, presets_manifest, presets_bytes, first_view_text):
    """index.html with the first view drawn in; the inputs are the shipped files' contents."""
    view = json.loads(first_view_text)
    mu_map, labels, (mu_min, mu_max) = artifacts.parse_latent_map(latent_manifest, latent_bytes)
    presets = artifacts.parse_presets(presets_manifest, presets_bytes)
    plot = latent_plot.LatentPlot(latent_plot.square_domain(mu_min, mu_max))
    box = f"0 0 {plot.width} {plot.height}"
    scatter = latent_plot.scatter_markup(plot, mu_map, labels)
    html = _fill(html, "latent-base", latent_plot.base_markup(plot, scatter), viewBox=box)
    overlay = latent_plot.overlay_markup(plot, view["mu"], view["sigma"], view["z"])
    html = _fill(html, "latent-overlay", overlay, viewBox=box)
    html = _fill(html, "legend", latent_plot.legend_markup())
    nearest = latent_plot.PointIndex(mu_map).nearest(view["mu"], narrate.K)
    html = _fill(html, "nearest", narrate.nearest_line([labels[i] for i in nearest]))  # no shift when Python says it
    for name in ("mu", "log_var", "sigma", "epsilon", "z"):
        for i, v in enumerate(view[name]):
            html = _fill(html, f"num-{name}-{i}", num(v, 3))
    # What boot.mjs needs to answer input before Python starts: the pen, and each preset's image.
    html = _fill(html, "draw-canvas", "", data_units=CANVAS, data_pen=num(digit_input.PEN_WIDTH, 3))
    preset_images = [png_data_url(ink(digit_input.from_bytes(pixels)), 28, 28) for pixels in presets]
    for n, image in enumerate(preset_images):
        button = f'data-preset="{n}">'
        if html.count(button) != 1:
            raise ValueError(f"index.html has no single button for preset {n}")
        html = html.replace(button, f'data-preset="{n}" data-image="{image}">')
    digit = preset_images[view["preset"]]
    reconstruction = ink(digit_input.from_bytes(base64.b64decode(view["reconstruction"])))
    images = {  # each placeholder's image, and its attributes (boot.mjs reads which preset the drawing shows)
        "draw-placeholder": (digit, f' data-digit="{view["preset"]}"'),
        "encoder-input-placeholder": (digit, ""),
        "reconstruction-placeholder": (png_data_url(reconstruction, 28, 28), ""),
    }
    for element_id, (src, attributes) in images.items():
        empty = f'<img id="{element_id}" class="placeholder" alt="">'
        if empty not in html:
            raise ValueError(f"index.html has no empty placeholder {element_id!r}")
        html = html.replace(empty, f'<img id="{element_id}"{attributes} class="placeholder" alt="" src="{src}">')
    return html


# The article's measured figures: each `<span data-teach="key">` gets models/teaching.json's figure, written with
# as many decimals as the span holds in index.html (a thousands comma if it has one; `data-unit="%"` for a share).
TEACH = re.compile(r'<(span|strong)(\s+data-teach="(\w+)"(?:\s+data-unit="%")?)>([^<]*)</\1>')


def figure_text(value, like, percent=False):
    """A figure from teaching.json as the page writes it, shaped like `like`, the text it replaces."""
    if isinstance(value, list) and value and isinstance(value[0], list):
        return ", ".join(f"({r + 1}, {c + 1})" for r, c in value)  # cells, 1-based as the VQ view names them
    if isinstance(value, list) and len(value) == 2 and like.startswith("row"):
        return f"row {value[0] + 1}, column {value[1] + 1}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    value = 100 * value if percent else value
    decimals = len(like.partition(".")[2])
    text = f"{value:,.{decimals}f}" if "," in like else f"{value:.{decimals}f}"
    return text.replace("-", "−")


def fill_figures(html, teaching_text):
    """index.html with every data-teach span holding its figure from teaching.json; an unknown key is an error."""
    figures = json.loads(teaching_text)["figures"]

    def fill(match):
        tag, attributes, key, like = match.groups()
        like = " ".join(like.split())  # the prose may wrap inside a figure
        if key not in figures:
            raise ValueError(f"index.html quotes {key!r}, which models/teaching.json does not measure")
        return f"<{tag}{attributes}>{figure_text(figures[key], like, 'data-unit' in attributes)}</{tag}>"

    return TEACH.sub(fill, html)


# The article's maths: `<span class="math">TeX</span>` inline, `<div class="math display">TeX</div>` on its own line.
MATH = re.compile(r'<(span|div)\s+class="math( display)?">([^<]*)</\1>')


def typeset_maths(html, typeset):
    """index.html with the article's maths typeset where it stands, so it has its final size before it is read.

    `typeset` takes a list of (TeX, display) and returns each one's HTML (KaTeX's, run by serve.py with Node:
    serving/katex.py). The TeX in index.html is HTML-escaped (`&lt;`), and is handed over as TeX."""
    found = list(MATH.finditer(html))
    if not found:
        return html
    typeset_html = typeset([(unescape(m.group(3)), bool(m.group(2))) for m in found])
    if len(typeset_html) != len(found):
        raise ValueError(f"typesetting {len(found)} formulas gave {len(typeset_html)}")
    parts, end = [], 0
    for match, formula in zip(found, typeset_html, strict=True):
        tag, display = match.group(1), match.group(2) or ""
        parts += [html[end : match.start()], f'<{tag} class="math{display} typeset">{formula}</{tag}>']
        end = match.end()
    return "".join(parts) + html[end:]
