"""The pages under test: this checkout, another revision in a git worktree (--baseline), each served by its own
serve.py, and the floor page."""

import contextlib
import hashlib
import http.server
import importlib.util
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import REPO

FLOOR = Path(__file__).resolve().parents[1] / "floor"  # the floor page: repaints in its handler, does no work


class Target:
    """One page under test: its name in the output, its key prefix in the JSON, where it is served from."""

    def __init__(self, name, prefix, label, url=None, busy_signal=True):
        self.name = name  # "current", "baseline", "floor"
        self.prefix = prefix  # "" for the current checkout (the keys CI checks), else "baseline:" / "floor:"
        self.label = label  # e.g. "current 6bff683+ (boot.mjs names …)"
        self.short = label.split(" (")[0]  # e.g. "current 6bff683+"
        self.url = url
        self.busy_signal = busy_signal  # whether the page sets data-busy="true" while it works
        self.page = None
        self.context = None

    def section(self, section):
        return section if self.name == "current" else f"{section} · {self.short}"


def git(*args, cwd=REPO):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def describe(cwd=REPO, paths=("web", "pysrc", "serve.py", "models", "package-lock.json")):
    """(short sha, subject, dirty) of a checkout; dirty means uncommitted changes to what the page is made of."""
    sha = git("rev-parse", "--short", "HEAD", cwd=cwd)
    subject = git("log", "-1", "--format=%s", cwd=cwd)
    dirty = bool(git("status", "--porcelain", "--", *paths, cwd=cwd))
    return sha, subject, dirty


def checkout_label(name, sha, subject, dirty, width=60):
    """'current 6bff683+ (boot.mjs names a missing…)': + marks uncommitted changes; the subject is shortened."""
    short = subject if len(subject) <= width else subject[: width - 1].rstrip() + "…"
    return f"{name} {sha}{'+' if dirty else ''} ({short})"


def baseline_worktree(rev):
    """A git worktree of `rev` under build/baseline-<sha>, made once and reused, with this checkout's
    node_modules and its own vendored files (its own `serve.py --vendor`). Returns (path, full sha)."""
    try:
        sha = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    except subprocess.CalledProcessError as error:
        raise SystemExit(f"error: --baseline {rev}: not a commit here ({error.stderr.strip()})") from None
    path = REPO / "build" / f"baseline-{sha[:7]}"
    if path.exists():
        try:
            at = git("rev-parse", "HEAD", cwd=path)
        except subprocess.CalledProcessError:
            at = None
        if at != sha:
            raise SystemExit(f"error: {path} exists but is not a worktree at {sha[:7]}: remove it and rerun")
        if git("status", "--porcelain", "--untracked-files=no", cwd=path):
            raise SystemExit(f"error: {path} has local changes: remove it (git worktree remove --force) and rerun")
    else:
        print(f"  baseline: git worktree add {path.relative_to(REPO)} {sha[:7]}", flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        git("worktree", "add", "--detach", str(path), sha)
    modules = path / "node_modules"
    if not modules.exists():
        modules.symlink_to(REPO / "node_modules", target_is_directory=True)
    if not (path / "web" / "vendor").exists():
        print("  baseline: serve.py --vendor (its own vendoring)…", flush=True)
        subprocess.run([sys.executable, "serve.py", "--vendor"], cwd=path, check=True, stdout=subprocess.DEVNULL)
    return path, sha


# Run in a checkout with the serving package: its folders made (quick brotli siblings), then finished.
FINISH_BROTLI = """
from serving import brotli, snapshot, vendoring
quality = brotli.brotli_quality()
for folder in brotli.finish([vendoring.VENDOR_DIR, snapshot.SNAPSHOT_DIR], quality):
    print(f"  brotli: {folder} finished at quality {quality}", flush=True)
"""


def finish_brotli(root):
    """A checkout whose serve.py serves quick brotli siblings first and finishes them in the background
    (serving/brotli.py) gets them finished before it is measured: its bytes on the wire are then those of the
    quality asked for (11 under `make bench`), and no compression competes with the page for the CPU."""
    if (Path(root) / "serving" / "brotli.py").is_file():
        subprocess.run([sys.executable, "serve.py", "--snapshot"], cwd=root, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([sys.executable, "-c", FINISH_BROTLI], cwd=root, check=True)


def start_checkout_server(root, timeout=600):
    """`serve.py --port 0` of the checkout at `root` (its own serve.py, which serves its own folder); returns
    (process, base URL). Lines before the address (a serve.py that vendors first says so) are skipped."""
    finish_brotli(root)
    proc = subprocess.Popen(
        [sys.executable, str(Path(root) / "serve.py"), "--port", "0"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        bufsize=1,
    )
    deadline, seen = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line.strip())
        if "http://" in line:
            url = line[line.index("http://") :].split()[0]
            return proc, url if url.endswith("/") else url + "/"
    proc.kill()
    proc.wait()
    proc.stdout.close()
    raise RuntimeError(f"{root}/serve.py did not start: {seen[-3:]!r}")


def sitemap_module(root):
    """The module that holds the site map of the checkout at `root` (serving/sitemap.py, or serve.py before the
    serving package), imported under a name of its own."""
    root = Path(root).resolve()
    if root == REPO:
        sys.path.insert(0, str(REPO))
        from serving import sitemap

        return sitemap
    name = f"sitemap_{hashlib.sha1(str(root).encode()).hexdigest()[:8]}"
    path = root / "serving" / "sitemap.py"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path if path.is_file() else root / "serve.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is made
        spec.loader.exec_module(module)
    return sys.modules[name]


@contextlib.contextmanager
def floor_server():
    """The floor page from a static server in a thread, on loopback only; yields its URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(FLOOR), **kwargs)

        def end_headers(self):
            self.send_header("Cache-Control", "no-cache")
            super().end_headers()

        def log_message(self, *args):
            pass

    with static_server(Quiet) as url:
        yield url


@contextlib.contextmanager
def static_server(handler):
    """`handler` serving from a thread, on loopback only; yields its URL (the floor page, the tfjs anchor)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
