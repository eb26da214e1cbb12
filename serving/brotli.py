"""Brotli siblings (.br) of the large compressible files in web/vendor and web/snapshot, made with Node's zlib (npm
brings Node; Python's standard library has no brotli). Browsers that accept br get them; the rest get gzip.

Brotli's best quality (11) packs the big wasm files and the Python snapshot 12-15% smaller than quality 9 (0.7 MB
less on a cold load) but takes about a minute a file on 2 cores. So a folder is first made with QUICK_QUALITY
(seconds) for each file whose best sibling is not cached yet, and finished later: by the server in the background,
with Node at the lowest CPU priority, or at once by the static build and the bench. Each result is kept in
BROTLI_CACHE by content and quality, so making a folder again costs nothing.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from serving.folders import NODE_MODULES, SetupError
from serving.sitemap import COMPRESSIBLE

BROTLI_MIN_BYTES = 16_384  # smaller files gain little from a second, precompressed encoding
BROTLI_CACHE = NODE_MODULES / ".cache" / "vae-explainer-brotli"  # brotli files by content, made once per install
QUALITY_MARKER = ".vae-explainer-brotli"  # the lowest quality of the folder's siblings
QUICK_QUALITY = 5
LOWEST_PRIORITY = 19

# argv: quality, CPU priority (nice), the parent's pid, files. A file's sibling is swapped in whole, so a server
# that reads it meanwhile gets the old one or the new one; Node stops if its parent (the server) is gone.
BROTLI_JS = (
    "const fs = require('fs'), z = require('zlib'), os = require('os');"
    "const [quality, priority, parent] = process.argv.slice(1, 4).map(Number);"
    "if (priority) os.setPriority(priority);"
    "for (const f of process.argv.slice(4)) { if (process.ppid !== parent) process.exit(3);"
    " const d = fs.readFileSync(f);"
    " fs.writeFileSync(f + '.new.br', z.brotliCompressSync(d, {params: {[z.constants.BROTLI_PARAM_QUALITY]: quality,"
    " [z.constants.BROTLI_PARAM_LGWIN]: 24, [z.constants.BROTLI_PARAM_SIZE_HINT]: d.length}}));"
    " fs.renameSync(f + '.new.br', f + '.br'); }"
)


def brotli_quality() -> int:
    """The quality a finished folder has: VAE_BROTLI_QUALITY, else 11 (the smallest files). `make test` asks for 5:
    its tests read the same bytes once decoded. A folder finished at a higher quality than asked for is kept."""
    text = os.environ.get("VAE_BROTLI_QUALITY", "11")
    if not (text.isdigit() and int(text) <= 11):
        raise SetupError(f"VAE_BROTLI_QUALITY must be a whole number from 0 to 11, not {text!r}")
    return int(text)


def folder_quality(folder: Path) -> int:
    """The quality a folder's brotli siblings have at least, or -1 when it has none recorded."""
    try:
        text = (folder / QUALITY_MARKER).read_text(encoding="utf-8")
    except OSError:
        return -1
    return int(text) if text.isdigit() else -1


def _place(source: Path, sibling: Path) -> None:
    """Copy a cached .br file into place whole."""
    staged = sibling.with_name(sibling.name.removesuffix(".br") + ".new.br")
    shutil.copyfile(source, staged)
    staged.replace(sibling)


def precompress(folder: Path, quality: int, *, quick: bool = False, background: bool = False) -> None:
    """Give each large compressible file in `folder` a .br sibling at `quality`, and record the quality there.

    With `quick`, a file whose sibling at `quality` is not cached yet gets one at QUICK_QUALITY instead, and the
    folder records that until it is finished. With `background`, Node runs at the lowest CPU priority.
    """
    node = shutil.which("node")
    if node is None:
        print("note: node not found, so no brotli files; gzip is served instead", file=sys.stderr)
        return
    low = min(quality, QUICK_QUALITY) if quick else quality
    made, todo = quality, []
    for path in sorted(folder.rglob("*"), key=lambda p: -p.stat().st_size if p.is_file() else 0):
        if not (path.is_file() and path.suffix in COMPRESSIBLE and path.stat().st_size >= BROTLI_MIN_BYTES):
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        cached = BROTLI_CACHE / f"{digest}-q{quality}.br"
        if not cached.is_file() and low < quality:
            made, cached = low, BROTLI_CACHE / f"{digest}-q{low}.br"
        if cached.is_file():
            _place(cached, path.with_name(path.name + ".br"))
        else:
            todo.append((path, cached))
    _compress(node, todo, low, LOWEST_PRIORITY if background else 0)
    (folder / QUALITY_MARKER).write_text(str(made), encoding="utf-8")


def _compress(node: str, todo: Sequence[tuple[Path, Path]], quality: int, priority: int) -> None:
    """Compress the files of `todo` (file, its cache entry) spread over the cores, then fill the cache."""
    workers = min(os.cpu_count() or 1, len(todo))
    command = [node, "-e", BROTLI_JS, str(quality), str(priority), str(os.getpid())]
    jobs = [subprocess.Popen([*command, *(str(p) for p, _ in todo[k::workers])]) for k in range(workers)]
    if any(job.wait(timeout=None if priority else 900) != 0 for job in jobs):
        raise SetupError(f"brotli compression failed in {todo[0][0].parent}")
    BROTLI_CACHE.mkdir(parents=True, exist_ok=True)
    for path, cached in todo:
        shutil.copyfile(path.with_name(path.name + ".br"), cached)


def finish(folders: Sequence[Path], quality: int, *, background: bool = False) -> list[Path]:
    """Bring each folder whose siblings are below `quality` up to it; returns those folders. A folder that records
    no quality (made without Node, or not by serve.py) is left as it is."""
    stale = [folder for folder in folders if 0 <= folder_quality(folder) < quality]
    for folder in stale:
        precompress(folder, quality, background=background)
    return stale


def finish_in_background(folders: Sequence[Path], quality: int) -> threading.Thread | None:
    """Finish the folders while the server already serves them (each sibling swapped in whole, picked up by the
    server's file cache); says so when done. None when there is nothing to finish."""
    if not any(0 <= folder_quality(folder) < quality for folder in folders):
        return None

    def run() -> None:
        started = time.monotonic()
        try:
            done = finish(folders, quality, background=True)
        except (OSError, SetupError, subprocess.SubprocessError) as error:
            print(f"note: brotli at quality {quality} not finished ({error})", file=sys.stderr, flush=True)
            return
        names = ", ".join(str(folder) for folder in done)
        print(f"Brotli siblings at quality {quality} in {names} ({time.monotonic() - started:.0f} s)", flush=True)

    thread = threading.Thread(target=run, name="brotli", daemon=True)
    thread.start()
    return thread
