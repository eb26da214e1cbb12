"""The first view drawn into index.html before Python starts: it must be exactly what the live page computes."""

import base64
import html
import json
import math
import re
import struct
import zlib
from pathlib import Path

import pytest

from page import artifacts, prerender
from page.state import FIRST_PRESET, FIRST_SEED, AppState
from serving.sitemap import read_site_file
from vae import narrate

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"


def test_first_view_matches_the_shipped_models():
    from training.first_view import first_view

    shipped = json.loads((MODELS / "first_view.json").read_text())
    fresh = first_view(MODELS)
    assert shipped["reconstruction"] == fresh["reconstruction"]
    for name in ("mu", "log_var", "sigma", "epsilon", "z"):
        assert shipped[name] == pytest.approx(fresh[name], abs=1e-6)
    assert (shipped["preset"], shipped["seed"]) == (FIRST_PRESET, FIRST_SEED)
    assert (AppState().preset, AppState().seed) == (FIRST_PRESET, FIRST_SEED)  # the page starts where it was drawn


def test_png_data_url_is_a_valid_png():
    url = prerender.png_data_url(bytes(i % 28 for i in range(784)), 28, 28)
    png = base64.b64decode(url.removeprefix("data:image/png;base64,"))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, color = struct.unpack(">IIBB", png[16:26])
    assert (width, height, depth, color) == (28, 28, 8, 0)
    idat = png[png.index(b"IDAT") + 4 : png.index(b"IEND") - 8]
    rows = zlib.decompress(idat)
    assert len(rows) == 28 * 29 and rows[1:29] == bytes(range(28))


def test_served_index_has_the_first_view():
    html = read_site_file(REPO / "web" / "index.html").decode()
    view = json.loads((MODELS / "first_view.json").read_text())
    assert html.count('class="scatter-digit"') == 10
    assert html.count('class="placeholder" alt="" src="data:image/png;base64,') == 3
    assert f'id="num-mu-0">{prerender.num(view["mu"][0], 3)}<' in html
    assert 'class="z-point"' in html and "NaN" not in html
    mu_map, labels, _ = artifacts.parse_latent_map(
        (MODELS / "latent_map.json").read_text(), (MODELS / "latent_map.bin").read_bytes()
    )
    by_distance = sorted(range(len(mu_map)), key=lambda i: math.dist(mu_map[i], view["mu"]))
    line = narrate.nearest_line([labels[i] for i in by_distance[: narrate.K]])
    assert f'id="nearest" class="nearest">{line}<' in html


def test_broken_models_serve_the_plain_page(tmp_path):
    (tmp_path / "web").mkdir()
    (tmp_path / "models").mkdir()
    plain = (REPO / "web" / "index.html").read_bytes()
    (tmp_path / "web" / "index.html").write_bytes(plain)
    for name in ("latent_map.json", "presets.json", "presets.bin", "first_view.json"):
        (tmp_path / "models" / name).write_bytes((MODELS / name).read_bytes())
    (tmp_path / "models" / "latent_map.bin").write_bytes((MODELS / "latent_map.bin").read_bytes()[:-1])
    assert read_site_file(tmp_path / "web" / "index.html") == plain


def test_the_article_is_served_with_its_maths_typeset_by_katex():
    """Each formula arrives typeset, so it has its final size before it is read; its TeX stays in the MathML."""
    source = (REPO / "web" / "index.html").read_text()
    formulas = [(html.unescape(m.group(3)), bool(m.group(2))) for m in prerender.MATH.finditer(source)]
    assert len(formulas) >= 30 and any(display for _, display in formulas)
    served = read_site_file(REPO / "web" / "index.html").decode()
    assert not prerender.MATH.search(served)  # no TeX left as written
    typeset = re.findall(r'<(span|div) class="math( display)? typeset"><span class="katex(?:-display)?"', served)
    assert [bool(display) for _, display in typeset] == [display for _, display in formulas]
    annotations = re.findall(r'<annotation encoding="application/x-tex">(.*?)</annotation>', served, re.S)
    assert [html.unescape(a) for a in annotations] == [tex for tex, _ in formulas]
    assert "katex-error" not in served


def test_typeset_maths_hands_over_tex_unescaped_and_puts_each_formula_back_in_its_place():
    page = '<p>a <span class="math">x &lt; y</span> b</p><div\n class="math display">\\sum_i z_i</div><span>c</span>'
    asked = []

    def typeset(items):
        asked.extend(items)
        return [f"[{tex}]" for tex, _ in items]

    out = prerender.typeset_maths(page, typeset)
    assert asked == [("x < y", False), ("\\sum_i z_i", True)]
    assert out == (
        '<p>a <span class="math typeset">[x < y]</span> b</p>'
        '<div class="math display typeset">[\\sum_i z_i]</div><span>c</span>'
    )
    assert (
        prerender.typeset_maths("<p>no maths</p>", lambda items: pytest.fail("nothing to typeset")) == "<p>no maths</p>"
    )
    with pytest.raises(ValueError):
        prerender.typeset_maths(page, lambda items: ["one"])
