"""The article quotes the model card's figures; they must be the shipped model's, not an older one's."""

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_article_figures_match_the_model_card():
    """§5's test loss and §6's kNN figure are the shipped card's (through models/teaching.json)."""
    html = (REPO / "web" / "index.html").read_text()
    metrics = json.loads((REPO / "models" / "model_card.json").read_text())["metrics"]

    def quoted(key):
        found = re.findall(rf'data-teach="{key}"(?: data-unit="%")?>([\d.]+)<', html)
        assert found, f"the article no longer quotes {key}"
        return {float(v) for v in found}

    assert quoted("test_negative_elbo") == {round(metrics["test_negative_elbo"], 2)}
    assert quoted("test_reconstruction_bce") == {round(metrics["test_reconstruction_bce"], 2)}
    assert quoted("test_kl") == {round(metrics["test_kl"], 2)}
    assert quoted("knn10_accuracy") == {round(100 * metrics["knn10_accuracy"], 1)}


def test_vq_section_figures_match_the_vq_model_card():
    """Section 7 quotes the VQ-VAE's card (models/vq/model_card.json): each `data-vq` figure, as rounded there."""
    html = (REPO / "web" / "index.html").read_text()
    card = json.loads((REPO / "models" / "vq" / "model_card.json").read_text())
    figures = {
        **{key: card[key] for key in ("code_dim", "num_codes", "commitment_cost")},
        **card["metrics"],
        **{f"vae_{key}": value for key, value in card["vae"]["metrics"].items()},
        **{f"prior_{key}": value for key, value in card["prior"]["metrics"].items()},
    }
    quoted = re.findall(r'data-vq="(\w+)">([\d.]+)<', html)
    assert {key for key, _ in quoted} >= {
        "test_mse",
        "vae_test_mse",
        "presets_mse",
        "vae_presets_mse",
        "perplexity",
        "prior_test_nll_bits_per_code",
    }
    for key, text in quoted:
        decimals = len(text.partition(".")[2])
        assert float(text) == round(figures[key], decimals), f"the article says {key} = {text}, the card {figures[key]}"
    bits = re.search(r"49 × log₂ (\d+) = (\d+)\s+bits", html)
    assert bits and int(bits.group(1)) == card["num_codes"]
    assert int(bits.group(2)) == 49 * (card["num_codes"].bit_length() - 1)
    assert ("no code is left unused" in html) == (card["metrics"]["unused_codes"] == 0)
