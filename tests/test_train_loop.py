"""The page's training loop (pysrc/train/loop.py) run in CPython with onnxruntime on the shipped models/train/:
the files checked against index.json (a corrupt one is named), the data equal to the IDX files and within the
wire budget, the seeded start weights, batches and ε, 100 reproducible steps, and a learning rate that makes the
loss infinite, after which the last good weights are back and training goes on as if nothing had happened.
"""

from __future__ import annotations

import ast
import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from serving import sitemap
from train import loop, schedule
from training.live_runtime import FOLDER, REFERENCE, load, run, trainer


@pytest.fixture(scope="module")
def loaded():
    return load()


def test_the_index_describes_the_shipped_files(loaded):
    index, data, runner = loaded
    for name, record in index["graphs"].items():
        session = runner.sessions[name]
        assert [i.name for i in session.get_inputs()] == [i["name"] for i in record["inputs"]]
        assert [o.name for o in session.get_outputs()] == [o["name"] for o in record["outputs"]]
    step_inputs = [i["name"] for i in index["graphs"]["step"]["inputs"]]
    names = [p["name"] for p in index["parameters"]]
    assert step_inputs[: 3 * len(names)] == names + [f"m.{n}" for n in names] + [f"v.{n}" for n in names]
    assert step_inputs[3 * len(names) :] == ["step", "images", "epsilon", "beta", "learning_rate"]
    assert (data.train_count, len(data.test_labels)) == (10_000, 2_000)


def test_the_data_is_the_idx_files(loaded, train, test):
    _, data, _ = loaded
    assert data.train_images == train.images[:10_000].tobytes()
    assert data.test_images == test.images[:2_000].tobytes()
    assert data.test_labels == test.labels[:2_000].tobytes()
    assert sorted(set(data.test_labels)) == list(range(10))


def test_the_data_is_at_most_2_mb_over_the_wire(loaded):
    """serve.py sends models/ gzipped, as `make build` writes it."""
    index, _, _ = loaded
    records = [index["data"][key] for key in ("train_images", "test_images", "test_labels")]
    assert sum(len(sitemap.gzipped((FOLDER / r["path"]).read_bytes())) for r in records) <= 2_000_000


def corrupt_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("name", "damage", "message"),
    [
        ("train_images.bin", corrupt_byte, "train_images.bin: sha256 differs"),
        ("test_labels.bin", lambda p: p.unlink(), "test_labels.bin: file not found"),
        ("step.onnx", lambda p: p.write_bytes(p.read_bytes()[:-100]), r"step.onnx: \d+ bytes, but index.json records"),
        ("decoder.onnx", corrupt_byte, "decoder.onnx: sha256 differs"),
        ("index.json", lambda p: p.write_text(p.read_text()[:-10]), "index.json: not valid JSON"),
        ("index.json", lambda p: p.unlink(), "index.json: file not found"),
    ],
)
def test_a_bad_file_is_named(tmp_path, name, damage, message):
    folder = tmp_path / "train"
    shutil.copytree(FOLDER, folder)
    damage(folder / name)
    with pytest.raises(loop.TrainFileError, match=message):
        load(folder)


@pytest.mark.parametrize(
    "change",
    [
        lambda index: index.pop("batch_size"),
        lambda index: index["graphs"]["step"].update(path="../step.onnx"),
        lambda index: index["data"]["train_images"].update(count="many"),
        lambda index: index["parameters"][0].pop("limit"),
        lambda index: index["graphs"].pop("decoder"),
        lambda index: index.update(graphs=[]),
        lambda index: index.clear(),
    ],
)
def test_an_index_with_a_missing_or_wrong_field_is_named(change):
    index = json.loads((FOLDER / loop.INDEX).read_text())
    change(index)
    with pytest.raises(loop.TrainFileError, match=r"^index\.json: a field is missing or wrong \(.+\)$"):
        loop.read_index(json.dumps(index))


def test_a_consistent_but_wrong_count_is_named(loaded):
    index, data, _ = loaded
    wrong = json.loads(json.dumps(index))
    wrong["data"]["test_labels"]["count"] = 1_999
    files = {index["data"][k]["path"]: getattr(data, k) for k in ("train_images", "test_images", "test_labels")}
    with pytest.raises(loop.TrainFileError, match=r"test_labels\.bin: 2000 bytes, not 1999 items"):
        loop.dataset(wrong, files)


def test_the_start_weights_follow_the_seed(loaded):
    index, _, _ = loaded
    first, again, other = (loop.initial_parameters(index, seed) for seed in (0, 0, 1))
    assert first == again
    assert first["encoder_hidden_kernel"] != other["encoder_hidden_kernel"]
    for parameter in index["parameters"]:
        values = np.asarray(first[parameter["name"]], np.float32)
        assert values.size == math.prod(parameter["shape"])
        if parameter["init"] == "zeros":
            assert not values.any()
        else:  # uniform in ±limit: mean 0, standard deviation limit/√3
            assert np.abs(values).max() <= parameter["limit"]
            assert values.std() == pytest.approx(parameter["limit"] / math.sqrt(3), rel=0.1)


def test_batches_cover_each_epoch_once_and_epsilon_follows_seed_and_step(loaded):
    index, data, runner = loaded
    t = loop.Trainer(index, data, runner, loop.Settings(seed=7))
    assert t.steps_per_epoch == 10_000 // 64 == 156
    seen = [i for step in range(1, 157) for i in t.batch_indices(step)]
    assert len(seen) == len(set(seen)) == 156 * 64  # 16 digits wait for another epoch's order
    assert t.batch_indices(157) != t.batch_indices(1)  # a new order each epoch
    assert (
        schedule.epoch_order(7, 1, 10_000) == schedule.epoch_order(7, 1, 10_000) != schedule.epoch_order(8, 1, 10_000)
    )
    feeds = t.feeds(3)  # held: an OrtValue's numpy() is a view of its memory
    images = feeds["images"].numpy()
    assert (images == np.frombuffer(data.train_images, np.uint8).reshape(-1, 784)[t.batch_indices(3)]).all()
    assert schedule.epsilon(7, 3, 128) == schedule.epsilon(7, 3, 128) != schedule.epsilon(7, 4, 128)
    eps = np.asarray(schedule.epsilon(7, 3, 20_000))
    assert abs(eps.mean()) < 0.03 and eps.std() == pytest.approx(1.0, abs=0.03)


def losses(t: loop.Trainer) -> list[tuple[float, float]]:
    return [(s.bce, s.kl) for s in t.losses]


def test_100_steps_are_reproducible_and_recorded():
    """The same seed and settings give the same losses, bit for bit; the page must give these within 1e-3."""
    reference = json.loads(REFERENCE.read_text())
    settings = loop.Settings(**reference["settings"])
    first, again = trainer(settings), trainer(settings)
    run(first.train(100))
    run(again.train(100))
    assert losses(first) == losses(again)
    np.testing.assert_allclose(losses(first), list(zip(reference["bce"], reference["kl"], strict=True)), rtol=1e-3)
    other = trainer(loop.Settings(settings.seed + 1, settings.beta, settings.learning_rate))
    run(other.train(3))
    assert losses(other) != losses(first)[:3]
    assert first.losses[-1].bce < 0.5 * first.losses[0].bce  # it trains


def test_an_infinite_loss_keeps_the_last_good_weights_and_names_the_step():
    settings = loop.Settings(seed=2)
    t, clean = trainer(settings), trainer(settings)
    run(t.train(5))
    run(clean.train(6))
    good = {name: value.numpy() for name, value in t.state.items()}
    t.settings.learning_rate = 1e4  # step 6 jumps far; the loss at its weights overflows
    run(t.train_step())
    with pytest.raises(loop.LossNotFinite, match=r"The loss at step 7 is not finite \(BCE [^,]+, KL inf\)") as raised:
        run(t.train_step())
    assert "the weights after step 5, the last with a finite loss, are in use" in str(raised.value)
    assert t.step == 5 and len(t.losses) == 5
    assert all(np.array_equal(t.state[name].numpy(), value) for name, value in good.items())
    t.settings.learning_rate = 1e-3  # training goes on from step 5 as if the bad steps had never been
    run(t.train_step())
    assert losses(t) == losses(clean)


def test_the_loop_is_pure_stdlib():
    """It runs in Pyodide without numpy, and in CPython without a browser: only these standard modules."""
    tree = ast.parse(Path(loop.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported <= {"__future__", "array", "dataclasses", "hashlib", "json", "math", "random", "train"}
    schedule_imports = [line for line in Path(schedule.__file__).read_text().splitlines() if "import" in line]
    assert schedule_imports == ["import random"]


# The step graph in onnxruntime-web, the page's runtime, under Node: the state goes from one step to the next as it
# does in the page; the batches and ε are the loop's. (The page's own run is compared in the browser tests.)
WEB_STEPS = """
import * as ort from %(ort)s;
import fs from 'node:fs';
ort.env.wasm.numThreads = 1;
const dir = %(dir)s, meta = JSON.parse(fs.readFileSync(dir + '/meta.json'));
const tensor = (m) => {
  const b = fs.readFileSync(`${dir}/${m.file}`), buffer = b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
  return new ort.Tensor(m.dtype, m.dtype === 'uint8' ? new Uint8Array(buffer) : new Float32Array(buffer), m.shape);
};
const session = await ort.InferenceSession.create(fs.readFileSync(meta.graph));
let state = Object.fromEntries(meta.state.map((m) => [m.name, tensor(m)]));
const losses = [];
for (const step of meta.steps) {
  const out = await session.run({...state, ...Object.fromEntries(step.map((m) => [m.name, tensor(m)]))});
  state = Object.fromEntries(Object.keys(state).map((name) => [name, out['new.' + name]]));
  losses.push([out.bce.data[0], out.kl.data[0]]);
}
console.log(JSON.stringify(losses));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_onnxruntime_web_trains_as_onnxruntime_does(tmp_path):
    ort_web = FOLDER.parent.parent / "node_modules" / "onnxruntime-web" / "dist" / "ort.wasm.min.mjs"
    if not ort_web.is_file():
        pytest.skip("node_modules missing: npm ci")
    t = trainer(loop.Settings(seed=4, beta=2.0, learning_rate=3e-3))

    def save(name, value, prefix):
        array = value.numpy()
        (tmp_path / f"{prefix}{name}.bin").write_bytes(array.tobytes())
        return {"name": name, "file": f"{prefix}{name}.bin", "dtype": str(array.dtype), "shape": list(array.shape)}

    meta = {"graph": str(FOLDER / "step.onnx"), "state": [save(n, v, "") for n, v in t.state.items()], "steps": []}
    for step in range(1, 4):
        feeds = t.feeds(step)
        extra = ("images", "epsilon", "beta", "learning_rate")
        meta["steps"].append([save(name, feeds[name], f"{step}.") for name in extra])
        run(t.train_step())
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    script = tmp_path / "steps.mjs"
    script.write_text(WEB_STEPS % {"ort": json.dumps(ort_web.as_uri()), "dir": json.dumps(str(tmp_path))})
    out = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=120, check=True)
    np.testing.assert_allclose(json.loads(out.stdout), losses(t), rtol=1e-5)
