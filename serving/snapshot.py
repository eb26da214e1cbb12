"""The Python snapshot: web/snapshot/ holds Python's memory image with the page's modules imported (made by
snapshot.mjs with Node), made again whenever the runtime, snapshot.mjs or one of those modules changed."""

import contextlib
import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from serving import brotli
from serving.folders import ROOT, SetupError, replace_dir
from serving.vendoring import VENDOR_MARKER

# PyScript's own Python package, as the module its core.js writes from (the snapshot holds it compiled).
PYSCRIPT_STDLIB = Path("node_modules", "@pyscript", "core", "src", "stdlib", "pyscript.js")
SNAPSHOT_DIR = ROOT / "web" / "snapshot"
SNAPSHOT_MARKER = ".vae-explainer-snapshot"


def snapshot_files(root: Path = ROOT) -> list[str]:
    """The files PyScript loads for main.py (pyscript.json's "files", relative to pysrc/), whose modules the
    snapshot holds imported, packages' __init__.py included.

    Each must import without a page: the adapter's modules may import js, but touch the DOM only when called.
    """
    files = json.loads((root / "web" / "pyscript.json").read_text(encoding="utf-8"))["files"]
    return [Path(name).relative_to("pysrc").as_posix() for name in files if name.endswith(".py")]


def snapshot_stamp(root: Path = ROOT) -> str:
    """What a snapshot is made from now (a digest): the vendored runtime, snapshot.mjs, PyScript's Python package
    and the sources of the modules it holds."""
    digest = hashlib.sha256()
    vendor_marker = root / "web" / "vendor" / VENDOR_MARKER
    vendored = vendor_marker.read_text(encoding="utf-8") if vendor_marker.exists() else ""
    digest.update(f"{vendored} {vendor_marker.stat().st_mtime_ns if vendor_marker.exists() else 0}".encode())
    for name, path in [
        ("snapshot.mjs", root / "snapshot.mjs"),
        *((f, root / "pysrc" / f) for f in snapshot_files(root)),
    ]:
        digest.update(name.encode() + b"\0" + path.read_bytes())
    with contextlib.suppress(OSError):  # absent before npm ran: the snapshot cannot be made then anyway
        digest.update(b"pyscript.js\0" + (root / PYSCRIPT_STDLIB).read_bytes())
    return digest.hexdigest()


def make_snapshot(root: Path = ROOT) -> None:
    """Write web/snapshot/: Python's memory image (snapshot.mjs) and the empty stdlib zip the page starts with.

    The image holds the interpreter already started, with the standard library the page needs and the page's
    modules imported. A module it lacks loads the full stdlib zip when first imported (pysrc/page/snapshot.py).
    Its brotli sibling is a quick one unless cached at the quality asked for (serving or building finishes it).
    """
    node = shutil.which("node")
    if node is None:
        raise SetupError("node not found: the Python snapshot is made with Node.js (npm brings it)")
    pyodide = root / "web" / "vendor" / "pyodide"

    def fill(staging: Path) -> None:
        maker = [node, str(root / "snapshot.mjs"), str(pyodide), str(root / PYSCRIPT_STDLIB), str(root / "pysrc")]
        command = [*maker, str(staging), *snapshot_files(root)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise SetupError(f"snapshot.mjs failed: {(done.stderr or done.stdout).strip()[-2000:]}")
        zipfile.ZipFile(staging / "python_stdlib.zip", "w").close()
        brotli.precompress(staging, brotli.brotli_quality(), quick=True)

    replace_dir(root / "web" / "snapshot", SNAPSHOT_MARKER, snapshot_stamp(root), fill)


def ensure_snapshot() -> None:
    """Make the snapshot again when the runtime, snapshot.mjs or a core module changed since it was made.

    A snapshot that cannot be made is removed, never left stale: the page then starts Python without it.
    """
    marker = SNAPSHOT_DIR / SNAPSHOT_MARKER
    with contextlib.suppress(OSError):
        if marker.read_text(encoding="utf-8") == snapshot_stamp():
            return
    print(f"Making the Python snapshot in {SNAPSHOT_DIR} ...", flush=True)
    try:
        make_snapshot()
    except (SetupError, OSError, subprocess.SubprocessError) as error:
        if marker.is_file():
            shutil.rmtree(SNAPSHOT_DIR)
        print(f"note: no Python snapshot ({error}); the page starts Python without one, more slowly", file=sys.stderr)
