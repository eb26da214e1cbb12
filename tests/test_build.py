"""serve.py --build: the static site, with its gzip siblings, that any static host serves as is; written from the
fake repository of fake_site.py."""

import functools
import gzip
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fake_site import FILES, INDEX, SECRET, fetch, make_tree, stop

import serve
from serving import vendoring
from serving.build import BUILD_MARKER, build
from serving.folders import ROOT, SetupError
from serving.sitemap import COMPRESSIBLE, site_map


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tree(tmp_path_factory)


def test_build_writes_the_site_and_gzip_siblings(tree: Path, tmp_path: Path) -> None:
    dest = tmp_path / "dist"
    count, size, packed = build(dest, tree)
    site = site_map(tree)
    assert count == len(site.files)
    assert size == sum(p.stat().st_size for p in site.files.values())
    built = {"/" + p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}
    gz = {url + ".gz" for url, p in site.files.items() if p.suffix in COMPRESSIBLE}
    assert built == set(site.files) | gz | {"/" + BUILD_MARKER}
    assert "/logo.png.gz" not in built
    assert packed == sum((dest / url.lstrip("/")).stat().st_size for url in gz)
    for url, path in site.files.items():
        assert (dest / url.lstrip("/")).read_bytes() == path.read_bytes()
        if url + ".gz" in gz:
            assert gzip.decompress((dest / (url.lstrip("/") + ".gz")).read_bytes()) == path.read_bytes()

    build(dest, tree)  # a folder it built before may be rebuilt
    assert (dest / "index.html").read_bytes() == INDEX


def test_build_output_works_on_a_plain_static_server(tree: Path, tmp_path: Path) -> None:
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    dest = tmp_path / "site"
    build(dest, tree)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(dest)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        assert fetch(port, "/").body == INDEX
        assert fetch(port, "/index.html").body == INDEX
        assert fetch(port, "/pysrc/loss.py").body == FILES["pysrc/loss.py"]
    finally:
        stop(server, thread)


def test_build_refuses_unsafe_destinations(tree: Path, tmp_path: Path) -> None:
    for dest in (tree, tree / "web", tree / "web" / "out", tree.parent):
        with pytest.raises(SetupError):
            build(dest, tree)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("mine")
    with pytest.raises(SetupError, match="marker"):
        build(precious, tree)
    assert (precious / "keep.txt").read_text() == "mine"
    assert (tree / "serve.py").read_bytes() == SECRET


def test_main_build_refuses_repo_root(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vendoring, "ensure_vendor", lambda: None)
    assert serve.main(["--build", str(ROOT)]) == 2
    assert "refusing" in capsys.readouterr().err
