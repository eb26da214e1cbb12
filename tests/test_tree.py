"""The tree shows the stories: pysrc/ is one package per story, each with its pure core apart from its browser
adapter (a `browser` sub-package), and the page loads exactly what the packages hold; and no source file sprawls."""

import ast
import json
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYSRC = REPO / "pysrc"
BROWSER_ONLY = {"js", "pyodide", "pyodide_js", "pyscript"}
STORIES = sorted(p.parent.name for p in PYSRC.glob("*/__init__.py"))


def imported_roots(path):
    """The top-level names of everything a module imports, at any depth of its code."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.partition(".")[0])
    return roots


def is_adapter(path):
    return path == PYSRC / "main.py" or "browser" in path.relative_to(PYSRC).parts


PURE = sorted(p for p in PYSRC.rglob("*.py") if not is_adapter(p))


def test_every_story_is_a_package_with_a_pure_core_and_a_browser_adapter():
    assert {"page", "vae", "kl", "vq", "live"} <= set(STORIES)
    assert sorted(p.name for p in PYSRC.iterdir() if p.suffix == ".py") == ["main.py"]
    for folder in (p for p in PYSRC.rglob("*") if p.is_dir() and p.name != "__pycache__"):
        assert (folder / "__init__.py").is_file(), f"{folder.relative_to(REPO)} is not a package"
        docstring = ast.get_docstring(ast.parse((folder / "__init__.py").read_text(encoding="utf-8")))
        assert docstring, f"{folder.relative_to(REPO)}/__init__.py does not say what the package is"


@pytest.mark.parametrize("path", PURE, ids=lambda p: p.relative_to(PYSRC).as_posix())
def test_a_pure_module_never_imports_the_browser(path):
    assert not imported_roots(path) & BROWSER_ONLY, f"{path.relative_to(REPO)} imports the browser"


def test_the_pure_modules_import_no_adapter():
    adapters = {".".join(p.relative_to(PYSRC).with_suffix("").parts) for p in PYSRC.rglob("*.py") if is_adapter(p)}
    for path in PURE:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not any(n.startswith(a) for n in names for a in adapters | {"page.browser"}), path


def test_pyscript_loads_whole_packages_at_their_paths():
    """Every file pyscript.json names exists and lands at its package's folder, with each package's __init__.py."""
    files = json.loads((REPO / "web" / "pyscript.json").read_text(encoding="utf-8"))["files"]
    for url, dest in files.items():
        path = REPO / url.removeprefix("./")
        assert path.is_file(), url
        folder = path.parent.relative_to(PYSRC).as_posix()
        assert dest == f"./{folder}/", (url, dest)
        assert f"./pysrc/{folder}/__init__.py" in files, f"{url}: its package's __init__.py is not loaded"


MAX_LINES = 500


def test_no_source_file_is_over_500_lines():
    """Each tracked Python, JavaScript module and stylesheet fits in one sitting: at most MAX_LINES lines, so a file
    that grows past it is split by job rather than left to sprawl. web/index.html is left out: it is the article's
    prose and markup, read as a document, where a split would only scatter the text a learner reads in order."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--", "*.py", "*.mjs", "*.css"],
            cwd=REPO,
            capture_output=True,
            check=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"not a git checkout ({error})")
    files = [REPO / name for name in listed.split("\0") if name and (REPO / name).is_file()]
    assert any(path.name == "serve.py" for path in files)
    long = {
        path.relative_to(REPO).as_posix(): n for path in files if (n := len(path.read_bytes().splitlines())) > MAX_LINES
    }
    assert not long, f"over {MAX_LINES} lines: {long}"
