"""Every figure the page's prose quotes about the models comes from code: models/teaching.json is what
training/teaching.py measures on the shipped files now, the page quotes it as it says, and no measured-looking
figure in the prose stands on its own."""

import hashlib
import json
import re
from pathlib import Path

import pytest

from page import prerender
from serving import sitemap
from training import teaching

REPO = Path(__file__).resolve().parents[1]
HTML = (REPO / "web" / "index.html").read_text()
SHIPPED = json.loads((REPO / "models" / "teaching.json").read_text())
# Numbers the prose may write without a data-teach or data-vq span, and why: none is a measurement.
NOT_MEASURED = {
    "0.05": "§3's example of a narrow σ (log σ² ≈ −6), also drawn in Figure 2",
    "196": "49 × log₂ 16, arithmetic that test_article checks against the VQ card",
}


@pytest.fixture(scope="module")
def measured():
    return teaching.measure()


def test_teaching_json_is_what_the_shipped_files_give(measured):
    """Recompute every figure from models/ and the IDX files; the committed JSON must be exactly that."""
    assert measured["sources"] == SHIPPED["sources"]
    for name, digest in SHIPPED["sources"].items():
        assert hashlib.sha256((REPO / "models" / name).read_bytes()).hexdigest() == digest
    assert measured["figures"].keys() == SHIPPED["figures"].keys()
    for key, value in measured["figures"].items():
        if isinstance(value, float):
            assert SHIPPED["figures"][key] == pytest.approx(value, rel=1e-9), key
        else:
            assert SHIPPED["figures"][key] == value, key


def test_the_figures_say_what_the_issue_measured(measured):
    """Sanity against independent arithmetic: the figures are what their names claim."""
    f = measured["figures"]
    card = json.loads((REPO / "models" / "model_card.json").read_text())["metrics"]
    assert f["test_kl"] == pytest.approx(card["test_kl"], abs=1e-5)  # the card's KL, recomputed
    assert f["test_kl_bits"] == pytest.approx(f["test_kl"] / 0.6931471805599453)
    assert 0 < f["test_kl_log_var_part"] < f["test_kl"]
    assert f["perfect_reconstruction_bce"] < card["test_reconstruction_bce"] < f["z_independent_test_bce"]
    assert f["prior_far_5sigma"] < f["prior_far_3sigma"] < 0.2
    assert f["vq_test_codebook_loss"] == pytest.approx(f["vq_test_mean_squared_distance"] / f["vq_code_dim"])
    assert f["vq_prior_bits_per_code"] < f["vq_frequency_bits_per_code"] < 4
    assert f["beta3_under_beta4_objective"] < f["z_independent_test_bce"]  # collapse is not β = 4's optimum
    assert f["beta0_test_kl"] > f["ln_test_images"]  # the rate is only a bound on the information
    assert not f["pixelcnn_sees_later_cells"] and 0 < f["pixelcnn_unseen_pairs"] < f["pixelcnn_earlier_pairs"]


def quoted(html):
    """(key, text as written, whether a share) of each data-teach span."""
    spans = prerender.TEACH.findall(html)
    return [(key, " ".join(text.split()), "data-unit" in attrs) for _, attrs, key, text in spans]


def test_the_page_quotes_teaching_json_as_it_stands():
    """The committed prose already says what the JSON says, so the source reads true without serve.py."""
    spans = quoted(HTML)
    assert len(spans) == HTML.count("data-teach=")
    keys = {key for key, _, _ in spans}
    assert keys >= {
        "perfect_reconstruction_bce",
        "prior_far_3sigma",
        "test_kl_bits",
        "vq_frequency_bits_per_code",
        "z_independent_test_bce",
        "vq_test_codebook_loss",
        "vq_restarted_codes",
        "seeds_compared",
    }
    for key, text, share in spans:
        assert prerender.figure_text(SHIPPED["figures"][key], text, share) == text, key


def test_serve_writes_the_json_figures_into_the_page(tmp_path):
    """Change a figure in teaching.json and the served page changes with it; an unknown key is refused."""
    changed = json.loads(json.dumps(SHIPPED))
    changed["figures"]["perfect_reconstruction_bce"] = 12.345
    changed["figures"]["prior_far_3sigma"] = 0.5
    html = prerender.fill_figures(HTML, json.dumps(changed))
    assert ("perfect_reconstruction_bce", "12.35", False) in quoted(html)
    assert ("prior_far_3sigma", "50.0", True) in quoted(html)
    del changed["figures"]["test_kl_bits"]
    with pytest.raises(ValueError, match="test_kl_bits"):
        prerender.fill_figures(HTML, json.dumps(changed))
    served = sitemap.read_site_file(REPO / "web" / "index.html").decode()
    assert [(k, t) for k, t, _ in quoted(served)] == [(k, t) for k, t, _ in quoted(HTML)]


def prose_numbers(html):
    """Numbers in the page's words that look measured (decimals, or followed by %, nats or bits), outside the
    spans that code fills, the maths, the code and the figures' drawings."""
    body = html[html.index("<main") :]
    for pattern in (
        r"<svg.*?</svg>",
        r"<(span|strong)\s+data-(teach|vq)=\"\w+\"[^>]*>[^<]*</\1>",
        r'<div class="math display">.*?</div>',
        r'<span class="math">.*?</span>',
        r"<code>.*?</code>",
        r'<a [^>]*href="https?://[^"]*"[^>]*>.*?</a>',
    ):
        body = re.sub(pattern, "", body, flags=re.S)
    text = " ".join(re.sub(r"<[^>]+>", " ", body).split())
    return re.findall(r"\d[\d,]*\.\d+|\d[\d,]*(?=\s*(?:%|nats|bits))", text)


def test_no_figure_in_the_prose_is_produced_by_no_code():
    assert set(prose_numbers(HTML)) <= NOT_MEASURED.keys()
    assert prose_numbers("<main><p>a perfect reconstruction costs 45.5 nats, and 7.2% of draws</p>") == ["45.5", "7.2"]
