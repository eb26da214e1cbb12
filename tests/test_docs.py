"""The README and the docs stay short and true: the README's order and size, its commands, its links, its layout
tree and its pins; each doc's one-line purpose."""

import json
import re
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
DOCS = sorted((REPO / "docs").glob("*.md"))
MARKDOWN = [REPO / "README.md", REPO / "CHANGELOG.md", *DOCS]


def test_the_readme_is_short_and_in_the_agreed_order():
    assert len(README.encode("utf-8")) <= 12 * 1024
    picture = README.index("![")
    sections = [m.group(1) for m in re.finditer(r"^## (.+)$", README, re.M)]
    assert sections == ["The two commands", "A tour of the page", "How fast", "Why these pins", "Layout", "Docs"]
    assert picture < README.index("## The two commands")


def test_the_readme_picture_is_the_screenshot_the_script_makes():
    (image,) = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", README)
    path = REPO / image
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(path.read_bytes()[16:20], "big"), int.from_bytes(path.read_bytes()[20:24], "big")
    assert (width, height) == (1440, 900)  # tests/screenshots.py's desktop size
    assert image == "docs/first-view.png" and "docs/first-view.png" in (REPO / "tests/screenshots.py").read_text()


def make_targets():
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    return {name for line in text.splitlines() if (m := re.match(r"^([a-z][a-z ]*):", line)) for name in m[1].split()}


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_make_command_named_is_a_target(path):
    named = set(re.findall(r"`make ([a-z]+)", path.read_text(encoding="utf-8")))
    assert named <= make_targets(), named - make_targets()


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_link_and_named_file_exists(path):
    text = path.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert (path.parent / target).exists(), f"{path.name} links to {target}, which does not exist"
    for name in re.findall(r"`((?:pysrc|training|tests|web|models|docs)/[\w./-]+)`", text):
        assert (REPO / name.rstrip("/")).exists(), f"{path.name} names {name}, which does not exist"


def test_the_layout_tree_matches_the_repository():
    tree = README[README.index("## Layout") : README.index("## Docs")]
    block = tree[tree.index("```") + 3 : tree.rindex("```")]
    lines = block.strip("\n").splitlines()
    top = [line.split()[0] for line in lines if not line.startswith(" ")]
    nested = [line.split()[0] for line in lines if line.startswith("  ")]  # the lines under pysrc/
    for entry in [*top, *(f"pysrc/{n}" for n in nested)]:
        assert (REPO / entry).exists(), entry
    stories = {p.parent.name + "/" for p in (REPO / "pysrc").glob("*/__init__.py")}
    assert stories <= set(nested), f"stories missing from the README's tree: {stories - set(nested)}"
    assert {"web/", "pysrc/", "training/", "models/", "tests/"} <= set(top)


def test_the_pins_named_are_the_pins_installed():
    package = json.loads((REPO / "package.json").read_text(encoding="utf-8"))
    npm = {**package.get("dependencies", {}), **package.get("devDependencies", {})}
    pins = README[README.index("## Why these pins") : README.index("## Layout")]
    for name, version in re.findall(r"`(@?[\w./-]+)` (\d+\.\d+(?:\.\d+)?)", pins):
        if name in npm:
            assert npm[name].lstrip("^~=") == version, (name, npm[name], version)
    extras = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    python = {req.split("==")[0]: req.split("==")[1] for reqs in extras.values() for req in reqs if "==" in req}
    for name, version in re.findall(r"`([\w-]+)` (\d+\.\d+)", pins):
        if name in python:
            assert python[name].startswith(version), (name, python[name], version)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_each_doc_says_its_purpose_in_one_line_at_its_top(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# ") and lines[1] == "" and lines[2] and lines[3] == "", path.name


def test_the_readmes_figures_are_the_shipped_files():
    """Each count the tour gives, against the file it describes."""
    models = REPO / "models"
    latent_map = json.loads((models / "latent_map.json").read_text(encoding="utf-8"))
    presets = json.loads((models / "presets.json").read_text(encoding="utf-8"))
    codebook = json.loads((models / "vq" / "codebook.json").read_text(encoding="utf-8"))
    words = {10: "ten"}
    assert f"{latent_map['count']:,} training digits" in README
    assert f"one of {words[len(presets['labels'])]} MNIST test digits" in README
    assert f"7×7 grid of {codebook['num_codes']} codes" in README
