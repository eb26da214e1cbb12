"""The static build: the site map written into a folder any static host serves as is, with gzip siblings and the
brotli ones at the quality asked for (finished here first, so a build ships the smallest files)."""

import shutil
from pathlib import Path

from serving import brotli
from serving.folders import SetupError, replace_dir
from serving.sitemap import COMPRESSIBLE, gzipped, read_site_file, site_map

BUILD_MARKER = ".vae-explainer-build"


def build(dest: Path, root: Path) -> tuple[int, int, int]:
    """Write the site map of `root` into `dest`, with a .gz sibling per compressible file (and the vendored .br ones).

    Returns (files, bytes, gzip bytes).
    """
    dest, root = dest.resolve(), root.resolve()
    if dest == root or dest in root.parents or dest.is_relative_to(root / "web"):
        raise SetupError(f"refusing to build into {dest}: pick a folder outside the repository root and web/")
    brotli.finish([root / "web" / "vendor", root / "web" / "snapshot"], brotli.brotli_quality())
    site = site_map(root)
    size = packed_size = 0

    def fill(staging: Path) -> None:
        nonlocal size, packed_size
        for url, file in site.files.items():
            target = staging / url.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            data = read_site_file(file)
            target.write_bytes(data)
            size += len(data)
            if file.suffix in COMPRESSIBLE:
                packed = gzipped(data)
                target.with_name(target.name + ".gz").write_bytes(packed)
                packed_size += len(packed)
                brotli_file = file.with_name(file.name + ".br")
                if brotli_file.is_file():  # for hosts that serve precompressed brotli
                    shutil.copyfile(brotli_file, target.with_name(target.name + ".br"))

    replace_dir(dest, BUILD_MARKER, "Built by serve.py --build; rebuilding wipes this folder.\n", fill)
    return len(site.files), size, packed_size
