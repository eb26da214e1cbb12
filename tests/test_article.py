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
