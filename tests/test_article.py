"""The article quotes the model card's figures; they must be the shipped model's, not an older one's."""

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_article_figures_match_the_model_card():
    html = (REPO / "web" / "index.html").read_text()
    metrics = json.loads((REPO / "models" / "model_card.json").read_text())["metrics"]
    quoted = re.search(
        r"negative ELBO averages <strong>([\d.]+) nats per image</strong>: ([\d.]+) of reconstruction\s+BCE and"
        r" ([\d.]+) of KL",
        html,
    )
    assert quoted, "the article no longer quotes the test-set loss"
    elbo, rec, kl = (float(v) for v in quoted.groups())
    assert elbo == round(metrics["test_negative_elbo"], 2)
    assert rec == round(metrics["test_reconstruction_bce"], 2)
    assert kl == round(metrics["test_kl"], 2)
    knn = re.search(r"dots gets ([\d.]+)% of the test digits' labels right", html)
    assert knn, "the article no longer quotes the kNN accuracy"
    assert float(knn.group(1)) == round(100 * metrics["knn10_accuracy"], 1)


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
