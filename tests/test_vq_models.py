"""The shipped VQ-VAE in models/vq/, checked the way the page runs it: the ONNX encoder, the page's own Python
quantiser and the ONNX decoder, with onnxruntime; no TensorFlow.

Every figure its model card claims is recomputed here from the committed files, and the quality bar is measured
against the shipped VAE on the same images: a stale card, a swapped file or a worse model fails the suite.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib

import numpy as np
import pytest

from training import ARTIFACTS, VQ_ARTIFACTS
from training.evaluate import session
from training.mnist import REPO, file_hashes
from training.vq_evaluate import decode, encode, read_codebook, read_presets, reconstruct, vae_metrics, vq_metrics

MODELS = REPO / "models"
VQ = MODELS / "vq"
NUM_CODES, CODE_DIM, EPOCHS = 16, 8, 20  # training/vqvae.py's K, D and epochs (importing it would need TensorFlow)
MIN_USED_CODES = 14  # dead codes are restarted during training; at most two may go unused on the test set


@pytest.fixture(scope="module")
def card():
    return json.loads((VQ / "model_card.json").read_text())


@pytest.fixture(scope="module")
def presets():
    return read_presets(MODELS)


@pytest.fixture(scope="module")
def measured(test, presets):
    """The VQ-VAE's and the VAE's figures, measured now from the committed files."""
    return vq_metrics(VQ, test.images, presets), vae_metrics(MODELS, test.images, presets)


@pytest.fixture(scope="module")
def vq_sessions():
    return session(VQ / "encoder.onnx"), session(VQ / "decoder.onnx")


# ## The quality bar, measured from the shipped files


def test_the_vqvae_reconstructs_better_than_the_vae(measured):
    vq, vae = measured
    assert vq["test_mse"] < vae["test_mse"], (vq, vae)
    assert vq["presets_mse"] < vae["presets_mse"], (vq, vae)
    # A 7×7 code should do much better than a 2-D one, not just a little.
    assert vq["test_mse"] < 0.5 * vae["test_mse"], (vq, vae)


def test_most_codes_are_used(measured):
    vq, _ = measured
    assert vq["unused_codes"] <= NUM_CODES - MIN_USED_CODES, vq
    # Background cells share a few codes, but the rest are spread: well above a handful of effective codes.
    assert 4.0 < vq["perplexity"] <= NUM_CODES, vq
    assert 1 < vq["mean_codes_per_test_image"] <= NUM_CODES, vq


def test_model_card_figures_match_the_shipped_files(measured, card):
    vq, vae = measured
    for name, value in vq.items():
        assert card["metrics"][name] == pytest.approx(value, rel=1e-6, abs=1e-9), name
    assert card["vae"]["metrics"] == pytest.approx(vae, rel=1e-6)


# ## The model card


def test_model_card_artifact_hashes_match_the_files(card):
    assert list(card["artifacts"]) == list(VQ_ARTIFACTS)
    for name, digest in card["artifacts"].items():
        assert hashlib.sha256((VQ / name).read_bytes()).hexdigest() == digest, name


def test_the_vae_compared_is_the_shipped_vae(card):
    """The VAE figures in this card are those of the files in models/, which its own card vouches for."""
    vae_card = json.loads((MODELS / "model_card.json").read_text())
    assert set(card["vae"]["artifacts"]) == {"encoder.onnx", "decoder.onnx", "presets.bin"} <= set(ARTIFACTS)
    for name, digest in card["vae"]["artifacts"].items():
        assert digest == vae_card["artifacts"][name] == hashlib.sha256((MODELS / name).read_bytes()).hexdigest()


def test_model_card_records_the_run(card):
    command = card["command"].split()
    assert command[:3] == ["python", "-m", "training"]
    assert command[3:] in ([], ["--only", "vqvae"]), "the shipped VQ-VAE comes from the one command"
    assert card["epochs"] == EPOCHS
    assert isinstance(card["seed"], int)
    assert card["batch_size"] == 128
    assert (card["num_codes"], card["code_dim"], card["grid"]) == (NUM_CODES, CODE_DIM, [7, 7])
    assert card["commitment_cost"] == 0.25
    assert card["wall_time_s"] > 0
    assert card["data"]["sha256"] == file_hashes()
    assert (card["data"]["train_images"], card["data"]["test_images"]) == (60_000, 10_000)
    versions = card["versions"]
    assert set(versions) == {"python", "tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime"}
    pins = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["train"]
    pinned = dict(p.split("==") for p in pins if "==" in p)
    assert versions["tensorflow"] == pinned["tensorflow-cpu"]
    for name in ("tf2onnx", "onnx", "onnxruntime"):
        assert versions[name] == pinned[name], name
    # Dead codes are restarted after every epoch but the last, never after it: the codebook ships as trained.
    assert set(card["restarted_codes"]) <= {str(e) for e in range(1, EPOCHS)}
    assert all(0 <= k < NUM_CODES for codes in card["restarted_codes"].values() for k in codes)


def test_model_card_final_train_losses(card):
    m = card["metrics"]
    parts = m["train_reconstruction_loss"] + m["train_codebook_loss"] + m["train_commitment_loss"]
    assert all(math.isfinite(v) and v > 0 for v in (m["train_total_loss"], parts)), m
    assert m["train_total_loss"] == pytest.approx(parts, rel=1e-5)
    assert m["train_commitment_loss"] == pytest.approx(0.25 * m["train_codebook_loss"], rel=1e-4)
    assert 0 <= m["onnx_vs_keras_max_abs_diff_encoded"] <= 1e-4
    assert 0 <= m["onnx_vs_keras_max_abs_diff_reconstruction"] <= 1e-4


def test_model_card_markdown_shows_the_json_figures(card):
    text = (VQ / "MODEL_CARD.md").read_text()
    m, vae = card["metrics"], card["vae"]["metrics"]
    assert f"**{m['test_mse']:.5f}** | {vae['test_mse']:.5f}" in text
    assert f"**{m['presets_mse']:.5f}** | {vae['presets_mse']:.5f}" in text
    assert f"| {m['perplexity']:.2f} |" in text
    assert f"| codes never used on the test set | {m['unused_codes']} |" in text
    assert f"{card['epochs']} epochs, seed {card['seed']}" in text
    assert f"K = {card['num_codes']} codes, D = {card['code_dim']} numbers each" in text
    for digest in [*card["artifacts"].values(), *card["vae"]["artifacts"].values(), *card["data"]["sha256"].values()]:
        assert digest in text


# ## The codebook and the ONNX interface the page relies on


def test_the_codebook_reads_through_the_pages_checked_reader(vq_sessions):
    manifest = json.loads((VQ / "codebook.json").read_text())
    assert manifest["file"] == "codebook.bin"
    assert (manifest["num_codes"], manifest["code_dim"]) == (NUM_CODES, CODE_DIM)
    codebook = read_codebook(VQ)
    assert codebook.shape == (NUM_CODES, CODE_DIM)
    assert np.isfinite(codebook).all()
    # No two codes coincide: each is a distinct point the argmin can choose.
    gaps = np.sqrt(((codebook[:, None] - codebook[None]) ** 2).sum(-1))[np.triu_indices(NUM_CODES, 1)]
    assert gaps.min() > 1e-3
    # The codes live where the encoder's vectors do.
    encoder, _ = vq_sessions
    assert encoder.get_outputs()[0].shape[-1] == manifest["code_dim"]


def test_encoder_and_decoder_interfaces(vq_sessions):
    encoder, decoder = vq_sessions
    assert [(i.name, i.type, i.shape) for i in encoder.get_inputs()] == [
        ("image", "tensor(float)", ["batch", 28, 28, 1])
    ]
    assert [(o.name, o.type, o.shape) for o in encoder.get_outputs()] == [
        ("encoded", "tensor(float)", ["batch", 7, 7, CODE_DIM])
    ]
    assert [(i.name, i.type, i.shape) for i in decoder.get_inputs()] == [
        ("quantized", "tensor(float)", ["batch", 7, 7, CODE_DIM])
    ]
    assert [(o.name, o.type, o.shape) for o in decoder.get_outputs()] == [
        ("reconstruction", "tensor(float)", ["batch", 28, 28, 1])
    ]


@pytest.mark.parametrize("batch", [1, 5])
def test_dynamic_batch(vq_sessions, test, batch):
    encoder, decoder = vq_sessions
    encoded = encode(encoder, test.images[:batch])
    assert encoded.shape == (batch, 7, 7, CODE_DIM) and encoded.dtype == np.float32
    for i in range(batch):  # a batch is the same as its images one at a time
        np.testing.assert_allclose(encode(encoder, test.images[i : i + 1])[0], encoded[i], atol=1e-5)
    images = decode(decoder, encoded)
    assert images.shape == (batch, 28, 28, 1) and images.dtype == np.float32


def test_each_code_means_something_when_it_fills_the_grid(vq_sessions, test):
    """A grid filled with one code (the page's "what does this code mean"): pixels in [0, 1]. Background codes
    decode to a blank image, and the encoder picks one of them for a blank input; the others draw strokes, and
    nearly all draw different ones.
    """
    _, decoder = vq_sessions
    codebook = read_codebook(VQ)
    images = decode(decoder, np.broadcast_to(codebook[:, None, None, :], (NUM_CODES, 7, 7, CODE_DIM)))
    assert images.min() >= 0.0 and images.max() <= 1.0
    flat = images.reshape(NUM_CODES, -1)
    blank = set(np.flatnonzero(flat.max(axis=1) < 0.1).tolist())
    assert 1 <= len(blank) <= 4, f"blank codes: {blank}"
    indices, _ = reconstruct(VQ, np.zeros((1, 28, 28), np.uint8))
    assert set(indices.ravel().tolist()) <= blank
    distinct = []  # one representative per group of codes that draw the same picture (mean abs difference < 0.01)
    for image in flat:
        if all(np.abs(image - other).mean() >= 0.01 for other in distinct):
            distinct.append(image)
    assert len(distinct) >= NUM_CODES - len(blank) + 1 - 2, len(distinct)


def test_presets_use_several_codes_and_reconstruct_as_themselves(presets):
    """Each preset's 7×7 code is a real code, several distinct entries, and decodes nearer to itself than to the
    other presets.
    """
    indices, reconstructions = reconstruct(VQ, presets)
    assert indices.shape == (10, 7, 7)
    assert all(len(np.unique(grid)) >= 3 for grid in indices)
    x = presets.astype(np.float64)[..., None] / 255.0
    errors = ((reconstructions[:, None] - x[None]) ** 2).mean(axis=(2, 3, 4))  # reconstruction i vs preset j
    assert (errors.argmin(axis=1) == np.arange(10)).all(), errors.round(3)
