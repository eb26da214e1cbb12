"""Vendoring npm's files into web/vendor, and the brotli siblings of the large ones: made quick at once, finished
at the quality asked for later."""

import os
import random
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import serve
from serving import brotli, vendoring
from serving.folders import SetupError

needs_node_modules = pytest.mark.skipif(not vendoring.NODE_MODULES.is_dir(), reason="node_modules missing: npm ci")


@needs_node_modules
def test_vendor_copies_the_listed_files(tmp_path: Path) -> None:
    dest = tmp_path / "vendor"
    count = vendoring.vendor(vendoring.NODE_MODULES, dest)
    files = {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}
    brotli = {f for f in files if f.endswith(".br")}
    # plus the two markers (what was vendored, and the brotli siblings' quality) and the precompressed siblings
    assert count == len(files) - len(brotli) - 2
    assert {
        "pyscript/core.js",
        "pyscript/core.css",
        "pyodide/pyodide.mjs",
        "pyodide/pyodide.asm.js",
        "pyodide/pyodide.asm.wasm",
        "pyodide/python_stdlib.zip",
        "pyodide/pyodide-lock.json",
        "ort/ort.wasm.min.mjs",
        "ort/ort-wasm-simd-threaded.mjs",
        "ort/ort-wasm-simd-threaded.wasm",
        "katex/katex.min.css",
        "katex/katex.mjs",
        "katex/fonts/KaTeX_Main-Regular.woff2",
        "hljs/core.mjs",
        "hljs/python.js",
        "hljs/github.css",
        vendoring.VENDOR_MARKER,
    } <= files
    assert not [f for f in files if f.endswith(".map")]
    assert {f.rsplit(".", 1)[1] for f in files if f.startswith("katex/fonts/")} == {"woff2"}
    assert (dest / "ort/ort-wasm-simd-threaded.wasm").read_bytes() == (
        vendoring.NODE_MODULES / "onnxruntime-web/dist/ort-wasm-simd-threaded.wasm"
    ).read_bytes()
    # Large compressible files get a brotli sibling (made with node); small ones and fonts do not.
    if shutil.which("node"):
        assert {"ort/ort-wasm-simd-threaded.wasm.br", "pyodide/pyodide.asm.wasm.br"} <= brotli
        assert not [f for f in brotli if f.startswith("katex/fonts/")]
        unpacked = subprocess.run(
            [
                "node",
                "-e",
                "process.stdout.write(require('zlib').brotliDecompressSync(require('fs')"
                ".readFileSync(process.argv[1])))",
                str(dest / "ort/ort-wasm-simd-threaded.wasm.br"),
            ],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
        assert unpacked == (dest / "ort/ort-wasm-simd-threaded.wasm").read_bytes()
    # The stdlib zip is re-stored uncompressed (Pyodide imports from it as is), with the same members.
    original = zipfile.ZipFile(vendoring.NODE_MODULES / "pyodide/python_stdlib.zip")
    stored = zipfile.ZipFile(dest / "pyodide/python_stdlib.zip")
    assert {i.compress_type for i in stored.infolist()} == {zipfile.ZIP_STORED}
    assert [i.filename for i in stored.infolist()] == [i.filename for i in original.infolist()]
    assert stored.read("asyncio/__init__.py") == original.read("asyncio/__init__.py")
    original.close()
    stored.close()
    # The highlight.js files must import nothing the browser cannot resolve.
    for name in ("core.mjs", "python.js"):
        text = (dest / "hljs" / name).read_text()
        assert not re.findall(r"^\s*import\b|\brequire\(", text, re.MULTILINE)
        assert re.search(r"^export (default|\{)", text, re.MULTILINE)

    vendoring.vendor(vendoring.NODE_MODULES, dest)  # vendoring again replaces its own folder


@needs_node_modules
@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_vendored_highlight_js_runs_as_an_es_module(tmp_path: Path) -> None:
    dest = tmp_path / "vendor"
    vendoring.vendor(vendoring.NODE_MODULES, dest)
    script = (
        'import hljs from "./vendor/hljs/core.mjs"; import python from "./vendor/hljs/python.js";'
        'hljs.registerLanguage("python", python);'
        'console.log(hljs.highlight("def f(): pass", {language: "python"}).value);'
    )
    (tmp_path / "check.mjs").write_text(script)
    out = subprocess.run(["node", str(tmp_path / "check.mjs")], capture_output=True, text=True, timeout=30, check=True)
    assert '<span class="hljs-keyword">def</span>' in out.stdout


@needs_node_modules
def test_serving_vendors_again_only_when_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lockfile = tmp_path / "package-lock.json"
    lockfile.write_text("{}")
    os.utime(lockfile, (1_000_000_000, 1_000_000_000))
    monkeypatch.setattr(vendoring, "VENDOR_DIR", tmp_path / "web" / "vendor")
    monkeypatch.setattr(vendoring, "LOCKFILE", lockfile)
    marker = tmp_path / "web" / "vendor" / vendoring.VENDOR_MARKER

    vendoring.ensure_vendor()
    assert marker.is_file()
    os.utime(marker, (1_500_000_000, 1_500_000_000))
    vendoring.ensure_vendor()
    assert marker.stat().st_mtime == 1_500_000_000  # up to date: left alone
    lockfile.touch()
    vendoring.ensure_vendor()
    assert marker.stat().st_mtime > 1_500_000_000  # package-lock.json changed: vendored again
    assert capsys.readouterr().out.count("Vendoring") == 2


def test_vendor_without_node_modules_says_npm_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(vendoring, "NODE_MODULES", tmp_path / "node_modules")
    monkeypatch.setattr(vendoring, "VENDOR_DIR", tmp_path / "web" / "vendor")
    assert serve.main(["--vendor"]) == 2
    assert "npm ci" in capsys.readouterr().err
    assert not (tmp_path / "web" / "vendor").exists()


def test_brotli_quality_is_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make test` asks for quality 5, serving and building 11 (the default); nothing else is a quality."""
    monkeypatch.delenv("VAE_BROTLI_QUALITY")
    assert brotli.brotli_quality() == 11
    monkeypatch.setenv("VAE_BROTLI_QUALITY", "5")
    assert brotli.brotli_quality() == 5
    for bad in ("12", "-1", "high", ""):
        monkeypatch.setenv("VAE_BROTLI_QUALITY", bad)
        with pytest.raises(SetupError, match="VAE_BROTLI_QUALITY must be a whole number from 0 to 11"):
            brotli.brotli_quality()


def unbrotli(path: Path) -> bytes:
    script = "process.stdout.write(require('zlib').brotliDecompressSync(require('fs').readFileSync(process.argv[1])))"
    return subprocess.run(["node", "-e", script, str(path)], capture_output=True, check=True, timeout=60).stdout


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_a_quick_folder_is_finished_later_and_a_better_one_is_kept(tmp_path: Path) -> None:
    """A folder is made at once with quick siblings where the asked-for quality is not cached, and finished later
    (by the server in the background, or the build); a folder at a higher quality than asked for is left alone."""
    folder = tmp_path / "vendor"
    folder.mkdir()
    rng = random.Random(1)
    numbers = ", ".join(f"{rng.random():.4f}" for _ in range(20_000))
    data = os.urandom(8) + f"export const weights = [{numbers}];\n".encode()  # new content: not cached
    (folder / "big.js").write_bytes(data)
    (folder / "small.js").write_bytes(b"export const a = 1;\n")
    brotli.precompress(folder, 7, quick=True)
    assert brotli.folder_quality(folder) == brotli.QUICK_QUALITY
    assert unbrotli(folder / "big.js.br") == data and not (folder / "small.js.br").exists()
    quick = (folder / "big.js.br").read_bytes()
    assert brotli.finish([folder, tmp_path / "absent"], 6) == [folder]
    assert brotli.folder_quality(folder) == 6 and unbrotli(folder / "big.js.br") == data
    assert (folder / "big.js.br").read_bytes() != quick
    assert brotli.finish([folder], 5) == []  # better than asked for: kept
    assert sorted(p.name for p in folder.iterdir()) == [brotli.QUALITY_MARKER, "big.js", "big.js.br", "small.js"]
    brotli.precompress(folder, 6, quick=True)  # the quality asked for is cached now: no quick sibling
    assert brotli.folder_quality(folder) == 6
    thread = brotli.finish_in_background([folder], 7)
    assert thread is not None
    thread.join(timeout=120)
    assert brotli.folder_quality(folder) == 7 and unbrotli(folder / "big.js.br") == data
    assert brotli.finish_in_background([folder], 7) is None
