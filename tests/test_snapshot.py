"""The Python memory snapshot: what serve.py puts in it, the checks pysrc/snapshot.py makes when the page starts
from it, and the real page started from it (faults that make the page start without it are in test_faults.py)."""

import hashlib
import json
import shutil
import struct
import sys
import zipfile

import pytest

from page import snapshot
from serving import snapshot as snapshot_maker
from serving.folders import ROOT


@pytest.fixture
def module_file(tmp_path, monkeypatch):
    """A core module on sys.path, recorded as the snapshot records modules; yields its file."""
    path = tmp_path / "core_for_test.py"
    path.write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(snapshot, "RECORDED", {})
    snapshot.take(["core_for_test"])
    yield path
    sys.modules.pop("core_for_test", None)


def test_take_records_each_core_module_by_its_source(module_file):
    assert {"core_for_test": hashlib.sha256(module_file.read_bytes()).hexdigest()} == snapshot.RECORDED
    assert all(name in sys.modules for name in snapshot.STDLIB)


def test_an_unchanged_core_is_kept(module_file):
    module = sys.modules["core_for_test"]
    assert snapshot.drop_stale() == []
    assert sys.modules["core_for_test"] is module


def test_a_changed_core_module_is_read_from_its_file_again(module_file):
    module_file.write_text("VALUE = 2\n")
    assert snapshot.drop_stale() == ["core_for_test.py"]
    assert "core_for_test" not in sys.modules and snapshot.RECORDED == {}
    import core_for_test

    assert core_for_test.VALUE == 2


def test_a_missing_core_file_counts_as_changed(module_file):
    module_file.unlink()
    assert snapshot.drop_stale() == ["core_for_test.py"]


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package compiled as the snapshot compiles PyScript's; yields its folder."""
    folder = tmp_path / "pkg_for_test"
    folder.mkdir()
    (folder / "__init__.py").write_text("from pkg_for_test.part import VALUE\n")
    (folder / "part.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(snapshot, "PRECOMPILED", {})
    monkeypatch.setattr(snapshot, "SERVED", [])
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    snapshot.precompile(folder)
    yield folder
    for name in ("pkg_for_test", "pkg_for_test.part"):
        sys.modules.pop(name, None)


def test_a_precompiled_package_imports_from_its_compiled_code(package):
    assert sorted(snapshot.PRECOMPILED) == ["pkg_for_test", "pkg_for_test.part"]
    import pkg_for_test

    assert pkg_for_test.VALUE == 1
    assert snapshot.SERVED == ["pkg_for_test", "pkg_for_test.part"]


def test_a_changed_file_of_a_precompiled_package_is_compiled_from_the_file(package):
    (package / "part.py").write_text("VALUE = 2\n")
    import pkg_for_test

    assert pkg_for_test.VALUE == 2
    assert snapshot.SERVED == ["pkg_for_test"]


def test_stdlib_on_demand_loads_the_full_zip_once_then_steps_aside(tmp_path, monkeypatch):
    small = tmp_path / "python313.zip"
    zipfile.ZipFile(small, "w").close()
    full = tmp_path / "full.zip"
    with zipfile.ZipFile(full, "w") as z:
        z.writestr("README", "the full standard library")
    monkeypatch.setattr(sys, "path", [*sys.path, str(small)])
    monkeypatch.setattr(snapshot, "stdlib_zip", lambda: str(small))
    fetched, notes = [], []

    def fetch():
        fetched.append(1)
        return full.read_bytes()

    finder = snapshot.StdlibOnDemand(fetch, notes.append)
    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, finder])
    assert finder.find_spec("not_a_stdlib_module") is None and fetched == []
    spec = finder.find_spec("colorsys")
    assert spec is not None and spec.name == "colorsys"
    assert fetched == [1] and small.read_bytes() == full.read_bytes()
    assert finder not in sys.meta_path
    assert notes == ["Python imports colorsys, which its snapshot lacks: loading the full standard library"]


def test_after_restore_installs_the_fallback_only_when_a_snapshot_was_used(monkeypatch):
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.setattr(snapshot, "RECORDED", {})
    snapshot.after_restore(bytes, print)
    assert not any(isinstance(f, snapshot.StdlibOnDemand) for f in sys.meta_path)
    from page import svg

    monkeypatch.setattr(snapshot, "RECORDED", {"svg": snapshot.digest(svg.__file__)})
    snapshot.after_restore(bytes, print)
    assert any(isinstance(f, snapshot.StdlibOnDemand) for f in sys.meta_path)


def test_the_snapshot_holds_the_modules_pyscript_loads_for_main():
    files = snapshot_maker.snapshot_files()
    expected = {"vae/distribution.py", "vae/sample.py", "vae/loss.py", "live/edits.py", "page/state.py"}
    assert expected | {"page/artifacts.py", "page/browser/views.py", "page/snapshot.py", "vae/__init__.py"} <= set(
        files
    )
    assert all((ROOT / "pysrc" / name).is_file() for name in files)


def test_the_stamp_follows_the_core_and_the_maker(tmp_path):
    for name in ("web", "pysrc"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("vendor", "snapshot"))
    shutil.copy(ROOT / "snapshot.mjs", tmp_path)
    before = snapshot_maker.snapshot_stamp(tmp_path)
    assert snapshot_maker.snapshot_stamp(tmp_path) == before
    (tmp_path / "pysrc" / "page" / "prerender.py").write_text("# not a module the page loads\n")
    assert snapshot_maker.snapshot_stamp(tmp_path) == before
    (tmp_path / "pysrc" / "page" / "svg.py").write_text(
        (tmp_path / "pysrc" / "page" / "svg.py").read_text() + "\n# changed\n"
    )
    assert snapshot_maker.snapshot_stamp(tmp_path) != before


def test_the_shipped_snapshot_is_current_and_checksummed():
    """`make setup` made web/snapshot/ from today's sources: the stamp matches and the trailer is the SHA-256."""
    folder = snapshot_maker.SNAPSHOT_DIR
    assert (folder / snapshot_maker.SNAPSHOT_MARKER).read_text() == snapshot_maker.snapshot_stamp()
    data = (folder / "python.bin").read_bytes()
    assert hashlib.sha256(data[:-32]).digest() == data[-32:]
    # The header lists the zero runs left out; put back, they give the whole memory image.
    length, count = struct.unpack_from("<II", data)
    runs = struct.unpack_from(f"<{2 * count}I", data, 8)
    left_out = sum(runs[1::2])
    assert 8 + 8 * count + length - left_out == len(data) - 32
    assert left_out > 4_000_000  # unused memory: a good part of the image
    assert zipfile.ZipFile(folder / "python_stdlib.zip").namelist() == []


# ---- the real page, started from the snapshot


@pytest.mark.browser
def test_the_page_starts_from_the_snapshot_and_never_needs_the_full_stdlib(watch, server_url):
    panels = {"details", "loss", "samples", "interpolate", "source", "prior", "manifold"}
    page = watch.open_state(server_url, panels=panels)
    assert page.evaluate("performance.getEntriesByName('vae:interpreter-ready')[0].detail") == "snapshot"
    watch.draw([[(100, 60), (140, 120), (150, 220)]])
    page.click("[data-preset='3']")
    watch.settle()
    # A traceback through standard-library frames formats, without their source lines.
    text = watch.python(
        "import traceback, json\ntry:\n    json.loads('{')\nexcept ValueError:\n    t = traceback.format_exc()\nt"
    )
    assert "JSONDecodeError" in text
    assert watch.errors == [] and [w for w in watch.warnings if "VAE Explainer" in w] == []
    stdlib = [method for method, path in watch.requests if path.endswith("/vendor/pyodide/python_stdlib.zip")]
    assert stdlib == ["HEAD"]  # checked to exist, never downloaded
    # The snapshot's core modules are the ones main.py imported and runs.
    assert watch.python(
        "import sys; from page import snapshot as s; len(s.RECORDED) > 10 and all(m in sys.modules for m in s.RECORDED)"
    )
    # PyScript's own package came from the code compiled when the snapshot was made, none of it compiled here.
    served, imported, compiled = json.loads(
        watch.python(
            "import json, sys; from page import snapshot as s; json.dumps([s.SERVED, [*sys.modules], [*s.PRECOMPILED]])"
        )
    )
    assert {"pyscript", "pyscript.context", "pyscript.display"} <= set(served)
    assert sorted(served) == sorted(set(imported) & set(compiled))


@pytest.mark.browser
def test_a_module_the_snapshot_lacks_loads_the_full_stdlib(watch, server_url):
    watch.open(server_url)
    assert watch.python("import statistics; statistics.mean([1, 2, 6])") == 3
    assert watch.python("import encodings.cp437; encodings.cp437.getregentry().name") == "cp437"
    assert [w for w in watch.warnings if "full standard library" in w] == [
        "VAE Explainer: Python imports statistics, which its snapshot lacks: loading the full standard library."
    ]
    # A traceback through standard-library frames still formats (its source lines come from the full zip now).
    text = watch.python(
        "import traceback, json\ntry:\n    json.loads('{')\nexcept ValueError as e:\n    t = traceback.format_exc()\nt"
    )
    assert "json/decoder.py" in text and "JSONDecodeError" in text
    assert watch.errors == []
