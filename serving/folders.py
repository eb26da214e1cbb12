"""The folders serve.py makes (web/vendor, web/snapshot, a static build): where they live, and how one is swapped in
whole, so the server never sees a half-written folder."""

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = ROOT / "node_modules"


class SetupError(Exception):
    """A problem the user fixes (missing npm install, unsafe build folder); reported without a traceback."""


def replace_dir(dest: Path, marker: str, marker_text: str, fill: Callable[[Path], None]) -> None:
    """Fill a fresh sibling folder and swap it in for `dest`.

    The server never sees a half-written folder, and a non-empty folder without our marker (something
    this script did not create) is never wiped.
    """
    if dest.exists() and not (dest.is_dir() and ((dest / marker).is_file() or not any(dest.iterdir()))):
        raise SetupError(f"refusing to overwrite {dest}: it is not empty and has no {marker} marker")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; static hosts need to read it
        fill(staging)
        (staging / marker).write_text(marker_text, encoding="utf-8")
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
