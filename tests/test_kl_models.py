"""The KL evidence in models/kl/ (training/kl.py), checked the way tests/test_models.py checks the shipped model:
every figure its index and card claim is recomputed from the committed files with onnxruntime, no TensorFlow.
"""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from training import kl
from training.evaluate import encode, metrics_from_sessions
from training.mnist import REPO

MODELS = REPO / "models"
KL = MODELS / "kl"


@pytest.fixture(scope="module")
def index():
    return kl.read_index(KL)


@pytest.fixture(scope="module")
def shipped_card():
    return json.loads((MODELS / "model_card.json").read_text())


EXPECTED = [kl.checkpoint_name(e) for e in kl.CHECKPOINT_EPOCHS] + [kl.beta_name(b) for b in kl.COMPARED_BETAS]
ENTRIES = list(kl.read_index(KL)["entries"])  # every entry there is gets checked; EXPECTED says what must be
# A model still training is a known gap, not a pass: these tests are expected to fail until it is committed.
UNFINISHED = [name for name in EXPECTED if name not in ENTRIES]
unfinished = pytest.mark.xfail(bool(UNFINISHED), reason=f"not trained yet: {UNFINISHED}", strict=True)


@pytest.fixture(scope="module")
def sessions(index):
    """Per entry name, its encoder and decoder sessions (files checked against the index), loaded once."""
    return {name: kl.entry_sessions(KL, entry) for name, entry in index["entries"].items()}


@pytest.fixture(scope="module")
def map_codes(sessions, train):
    """Per entry name, its encoder's μ and σ of the latent map's images."""
    codes = {}
    for name, (encoder, _) in sessions.items():
        mu, log_var = encode(encoder, train.images[: kl.MAP_SIZE])
        codes[name] = mu, np.exp(0.5 * log_var.astype(np.float64))
    return codes


# ## What the index offers a page


@unfinished
def test_index_names_every_checkpoint_and_model(index):
    assert index["checkpoints"] == {str(e): kl.checkpoint_name(e) for e in kl.CHECKPOINT_EPOCHS}
    betas = {"1": kl.checkpoint_name(30)} | {f"{b:g}": kl.beta_name(b) for b in kl.COMPARED_BETAS}
    assert index["betas"] == betas
    assert sorted(index["entries"]) == sorted(EXPECTED)
    for epoch, name in index["checkpoints"].items():
        assert (index["entries"][name]["epoch"], index["entries"][name]["beta"]) == (int(epoch), 1.0)
    for beta, name in index["betas"].items():
        assert (index["entries"][name]["epoch"], index["entries"][name]["beta"]) == (30, float(beta))
    assert kl.entry_for(index, epoch=0) is index["entries"]["epoch-00"]
    assert kl.entry_for(index, beta=1.0) is index["entries"]["epoch-30"]


def test_index_records_the_shipped_run(index, shipped_card):
    """Same command, seed, epochs, batch, data and toolchain as the shipped model: its recipe, rerun."""
    assert index["command"] == shipped_card["command"] == "python -m training"
    for key in ("seed", "epochs", "batch_size", "latent_dim", "versions", "data"):
        assert index[key] == shipped_card[key], key
    assert index["latent_map"] | {"images": None} == kl.MAP_LAYOUT | {"images": None}


def test_the_final_checkpoint_is_the_shipped_model_or_the_index_says_it_is_not(index, shipped_card):
    """Epoch 30 is the shipped model itself (its ../ files) when the run reproduced it. A rerun that did not keeps
    its own final model in epoch-30/ and says so, with the shipped figures beside its own; the shipped files stay.
    """
    entry = index["entries"]["epoch-30"]
    files, metrics = entry["files"], entry["metrics"]
    shipped_train = {k: v for k, v in shipped_card["metrics"].items() if k.startswith("train_")}
    same = {
        "encoder": files["encoder"]["sha256"] == shipped_card["artifacts"]["encoder.onnx"],
        "decoder": files["decoder"]["sha256"] == shipped_card["artifacts"]["decoder.onnx"],
        "metrics": metrics == {k: shipped_card["metrics"][k] for k in metrics},
        "train losses": entry["train_losses"] == shipped_train,
    }
    if index["final_checkpoint_is_the_shipped_model"]:
        assert (files["encoder"]["path"], files["decoder"]["path"]) == ("../encoder.onnx", "../decoder.onnx")
        assert all(same.values()), same
    else:
        assert files["encoder"]["path"] == "epoch-30/encoder.onnx"
        assert files["decoder"]["path"] == "epoch-30/decoder.onnx"
        assert not any(same.values()), same
        assert index["shipped_model_metrics"] == {k: shipped_card["metrics"][k] for k in metrics}


@pytest.mark.parametrize("name", ENTRIES)
def test_files_match_the_index(index, name):
    for record in index["entries"][name]["files"].values():
        kl.read_file(KL, record)  # raises, naming the file, on a missing, short or changed one


# ## Every figure, recomputed from the files


@pytest.mark.parametrize("name", ENTRIES)
def test_card_figures_match_the_files(index, sessions, map_codes, train, test, name):
    if index["entries"][name]["files"]["encoder"]["path"] == "../encoder.onnx":
        pytest.skip("the shipped model: tests/test_models.py recomputes its figures")
    map_mu, _ = map_codes[name]
    labels = train.labels[: kl.MAP_SIZE]
    metrics = metrics_from_sessions(*sessions[name], test.images, test.labels, map_mu, labels)
    assert set(metrics) == set(index["entries"][name]["metrics"])
    for key, value in metrics.items():
        assert index["entries"][name]["metrics"][key] == pytest.approx(value, rel=1e-6, abs=1e-6), key


@pytest.mark.parametrize("name", ENTRIES)
def test_latent_map_is_the_encoders_mu_and_sigma(index, map_codes, train, name):
    mu, sigma, labels = kl.read_latent_map(KL, index["entries"][name])
    expected_mu, expected_sigma = map_codes[name]
    # float16 keeps 11 significant bits: half an ulp is 2⁻¹¹ of the value. Near 0 the float32 recomputation's own
    # error dominates: it is relative to the encoder's sums (of order 1), not to a result that cancels to 4e-5, and
    # differs between CPUs by about 1e-7 (seen 1.1e-7 on this kind of machine), so it gets 2⁻²⁰ ≈ 1e-6 absolute.
    np.testing.assert_allclose(mu, expected_mu, rtol=2**-11, atol=2**-20)
    np.testing.assert_allclose(sigma, expected_sigma, rtol=2**-11, atol=2**-20)
    np.testing.assert_array_equal(labels, train.labels[: kl.MAP_SIZE])


def measured_kl(index) -> dict[float, float]:
    """Mean test-set KL per β, as the index records it (recomputed from the files in the tests above)."""
    return {float(b): index["entries"][name]["metrics"]["test_kl"] for b, name in index["betas"].items()}


def test_a_kl_weight_above_1_pulls_the_codes_closer_to_the_prior(index):
    kl_of = measured_kl(index)
    (big,) = (b for b in kl.COMPARED_BETAS if b > 1)
    assert kl_of[big] < kl_of[1.0]


@unfinished
def test_without_the_kl_term_the_codes_stray_far_from_the_prior(index):
    """β = 0 leaves the codes wherever reconstruction wants them: a KL far above β = 1's. (Its training KL was
    470 after epoch 1, 89 after epoch 10 and still falling, against β = 1's 6.4: hence four times, not ten.)
    """
    kl_of = measured_kl(index)
    assert kl_of[0.0] > 4 * kl_of[1.0]


def test_training_moves_the_checkpoints_from_noise_to_the_shipped_model(index):
    """Epoch 0 is the untrained network: chance reconstruction (≈ 784·ln 2 nats) and codes bunched near 0."""
    figures = [index["entries"][kl.checkpoint_name(e)]["metrics"] for e in kl.CHECKPOINT_EPOCHS]
    assert figures[0]["test_reconstruction_bce"] > 0.9 * 784 * math.log(2)
    elbos = [f["test_negative_elbo"] for f in figures]
    assert elbos[1] < 0.5 * elbos[0]
    assert elbos[-1] == min(elbos)


def test_the_replay_shows_the_codes_pulled_toward_the_prior(index):
    """Untrained, every code sits near 0 with σ ≈ 1. Training spreads the map out to carry the digits, and the KL
    term then pulls its centre back toward the prior's: by epoch 30 the map is centred and about unit-wide.
    """
    maps = {e: kl.read_latent_map(KL, kl.entry_for(index, epoch=e)) for e in (0, 1, 30)}
    mu, sigma, _ = maps[0]
    assert (mu.std(axis=0) < 0.1).all()
    assert np.abs(np.median(sigma, axis=0) - 1).max() < 0.1
    centre = {e: np.linalg.norm(maps[e][0].mean(axis=0)) for e in maps}
    assert centre[30] < 0.5 * centre[1]
    spread = maps[30][0].std(axis=0)
    assert ((spread > 0.7) & (spread < 1.3)).all()


# ## The card


def test_card_markdown_shows_the_index(index):
    text = (KL / "KL_CARD.md").read_text()
    for name, entry in index["entries"].items():
        m = entry["metrics"]
        row = f"| `{name}` | {entry['beta']:g} | {entry['epoch']} | {m['test_reconstruction_bce']:.2f} "
        assert row in text, name
        assert f"| {m['test_negative_elbo']:.2f} | {m['knn10_accuracy']:.4f} |" in text, name
        for record in entry["files"].values():
            assert record["sha256"] in text


# ## The ONNX interface is the shipped one, so the page can swap models


@pytest.mark.parametrize("name", ENTRIES)
def test_interface_is_the_shipped_models(sessions, name):
    encoder, decoder = sessions[name]
    assert [(i.name, i.shape) for i in encoder.get_inputs()] == [("image", ["batch", 28, 28, 1])]
    assert [(o.name, o.shape) for o in encoder.get_outputs()] == [("z_mean", ["batch", 2]), ("z_log_var", ["batch", 2])]
    assert [(i.name, i.shape) for i in decoder.get_inputs()] == [("z", ["batch", 2])]
    assert [(o.name, o.shape) for o in decoder.get_outputs()] == [("reconstruction", ["batch", 28, 28, 1])]


# ## A missing or corrupt file is named


@pytest.fixture
def copy(tmp_path, index):
    """models/kl/index.json and the epoch-01 entry, copied so they can be broken."""
    (tmp_path / "kl").mkdir()
    shutil.copy(KL / kl.INDEX, tmp_path / "kl" / kl.INDEX)
    shutil.copytree(KL / "epoch-01", tmp_path / "kl" / "epoch-01")
    return tmp_path / "kl", index["entries"]["epoch-01"]


def test_missing_file_is_named(copy):
    kl_dir, entry = copy
    (kl_dir / "epoch-01" / "decoder.onnx").unlink()
    with pytest.raises(kl.KlError, match=r"epoch-01/decoder\.onnx: file not found"):
        kl.entry_sessions(kl_dir, entry)


def test_truncated_file_is_named(copy):
    kl_dir, entry = copy
    path = kl_dir / "epoch-01" / "latent_map.bin"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(kl.KlError, match=r"epoch-01/latent_map\.bin: 89999 bytes, but index\.json records 90000"):
        kl.read_latent_map(kl_dir, entry)


def test_corrupt_file_is_named(copy):
    kl_dir, entry = copy
    path = kl_dir / "epoch-01" / "encoder.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(kl.KlError, match=r"epoch-01/encoder\.onnx: sha256 differs"):
        kl.entry_sessions(kl_dir, entry)


def test_missing_or_broken_index_is_named(tmp_path):
    with pytest.raises(kl.KlError, match=r"index\.json: file not found"):
        kl.read_index(tmp_path)
    (tmp_path / kl.INDEX).write_text('{"entries": ')
    with pytest.raises(kl.KlError, match=r"index\.json: not valid JSON"):
        kl.read_index(tmp_path)
