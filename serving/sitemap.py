"""The site map: every URL the page has and the file behind it (nothing else is ever served or built), and each
file's bytes as served: index.html with its first view drawn in, gzip for the compressible ones."""

import gzip
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from serving import katex

# The URL space: (folder under the root, URL prefix, suffixes served or None for all, recurse).
SITE = (
    ("web", "/", None, True),
    ("pysrc", "/pysrc/", (".py",), True),  # one package per story
    ("models", "/models/", (".onnx", ".bin", ".json", ".md"), True),  # models/kl/ (and its checkpoints) too
    ("training", "/training/", (".py",), False),
)
COMPRESSIBLE = {
    ".html", ".js", ".mjs", ".css", ".json", ".py", ".wasm", ".svg", ".md", ".txt", ".bin", ".onnx", ".zip",
}  # fmt: skip


@dataclass(frozen=True)
class Site:
    """The site map: URL path -> file, plus the resolved root that every served file must stay inside."""

    root: Path
    files: dict[str, Path]


def gzipped(data: bytes) -> bytes:
    """Gzip with a fixed mtime so the bytes (and the build) are reproducible."""
    return gzip.compress(data, compresslevel=6, mtime=0)


def inside(path: Path, root: Path) -> bool:
    """Whether `path`, with symlinks resolved, stays inside `root`."""
    return path.resolve().is_relative_to(root)


def _walk(base: Path, recurse: bool) -> Iterator[Path]:
    """Regular files under `base`, skipping dotfiles and dot-folders (.DS_Store, staging folders)."""
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if recurse else []
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if not name.startswith(".") and not name.endswith(".br") and path.is_file():
                yield path


def site_map(root: Path) -> Site:
    """Map every servable URL path to its file under `root`, per SITE; nothing else is ever served."""
    root = root.resolve()
    files = {}
    for folder, prefix, suffixes, recurse in SITE:
        base = root / folder
        for path in _walk(base, recurse):
            if (suffixes is None or path.suffix in suffixes) and inside(path, root):
                files[prefix + path.relative_to(base).as_posix()] = path
    return Site(root, files)


def _preload_python(html: str, root: Path) -> str:
    """Preload hints for the Python files PyScript fetches only once the interpreter is up (pyscript.json's
    "files" and main.py), so they are here by then instead of a round trip later."""
    try:
        files = list(json.loads((root / "web" / "pyscript.json").read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError) as error:
        print(f"note: no preload hints for the Python files ({error})", file=sys.stderr, flush=True)
        return html
    files += re.findall(r'<script type="py" src="([^"]+)"', html)
    # Low priority: at the default (high) they hold every connection to the server while PyScript's own modules wait.
    hint = '  <link rel="preload" href="{}" as="fetch" crossorigin fetchpriority="low">\n'
    links = "".join(hint.format(href) for href in files)
    return html.replace("</head>", links + "</head>", 1)


def read_site_file(path: Path) -> bytes:
    """A file as served. index.html gets the first view drawn in (pysrc/page/prerender.py), so the page is useful
    before Python starts, and the article's maths typeset; if the models are broken it is served without the first
    view, and the page reports what failed."""
    data = path.read_bytes()
    if path.name != "index.html" or path.parent.name != "web":
        return data
    root = path.parent.parent
    data = _preload_python(data.decode("utf-8"), root).encode("utf-8")
    if str(root / "pysrc") not in sys.path:
        sys.path.insert(0, str(root / "pysrc"))
    from page import prerender

    models = root / "models"
    try:  # the article's measured figures, from models/teaching.json (training/teaching.py)
        data = prerender.fill_figures(data.decode("utf-8"), (models / "teaching.json").read_text()).encode("utf-8")
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"note: serving the article's figures as index.html has them ({error})", file=sys.stderr, flush=True)
    try:  # the article's maths, typeset with KaTeX (serving/katex.py)
        typeset = katex.typesetter(root)
        if typeset is not None:
            data = prerender.typeset_maths(data.decode("utf-8"), typeset).encode("utf-8")
    except (OSError, ValueError, subprocess.SubprocessError) as error:
        print(f"note: serving the article's maths as TeX ({error})", file=sys.stderr, flush=True)
    try:
        return prerender.render_index(
            data.decode("utf-8"),
            (models / "latent_map.json").read_text(),
            (models / "latent_map.bin").read_bytes(),
            (models / "presets.json").read_text(),
            (models / "presets.bin").read_bytes(),
            (models / "first_view.json").read_text(),
        ).encode("utf-8")
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"note: serving index.html without its first view ({error})", file=sys.stderr, flush=True)
        return data
