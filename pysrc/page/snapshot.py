"""The page's Python memory snapshot: what goes into it, and what the page checks when it starts from it.

Pyodide's start-up (about 2 s of one main-thread task) is replaced by restoring a memory image taken at vendor
time (`snapshot.mjs`, run by `serve.py`). The image holds the interpreter with the standard-library modules the
page uses and the page's modules (the pure core and the views) already imported, so the page starts with an
empty stdlib zip instead of the 9 MB one. `take` runs when the image is made; `after_restore` runs in the page
before `main.py`. This module is pure: the page hands it the JavaScript it needs.
"""

import gc
import hashlib
import importlib
import importlib.abc
import importlib.machinery
import sys
import zipimport
from pathlib import Path

# The standard library the page imports beyond the pure core: PyScript's own package (asyncio, base64, html,
# inspect, io, json, weakref) and the adapter (array, asyncio, json, random), and what live edits run with.
STDLIB = (
    "array",
    "asyncio",
    "base64",
    "collections",
    "functools",
    "html",
    "inspect",
    "io",
    "json",
    "random",
    "traceback",
    "weakref",
)

RECORDED: dict[str, str] = {}  # page module -> sha256 of the source it was imported from, filled by take()
PRECOMPILED: dict[str, tuple[bytes, object]] = {}  # PyScript's module -> (its source, that source compiled)
SERVED: list[str] = []  # the modules imported from PRECOMPILED in this run, for the tests


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def stdlib_zip():
    """The standard library's zip on sys.path (/lib/python313.zip in Pyodide)."""
    return next(p for p in sys.path if p.endswith(".zip"))


def take(core_modules, package=None):
    """Import the standard library and `core_modules`, record each one's source hash, and compile `package`.

    `package` is the folder PyScript writes its own Python package to at every start (the page's JS modules
    must exist before it can be imported, so it cannot be imported here). The zip importers' caches are
    cleared, so the restored image reads whichever zip the page gives it.
    """
    for name in (*STDLIB, *core_modules):
        importlib.import_module(name)
    RECORDED.update({name: digest(sys.modules[name].__file__) for name in core_modules})
    if package is not None:
        precompile(Path(package))
    forget_zip_contents()
    gc.collect()


def precompile(package):
    """Compile every module of `package` now, and import them from that code when their files are unchanged."""
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        source = path.read_bytes()
        PRECOMPILED[name] = (source, compile(source, str(path), "exec", dont_inherit=True))
    sys.meta_path.insert(0, Precompiled())


class Precompiled(importlib.abc.MetaPathFinder):
    """Imports PyScript's own package from the code compiled when the snapshot was made.

    PyScript writes the package's files and imports it at every start; compiling them took 0.25-0.3 s of
    a cold load. A file whose bytes differ from the ones compiled (another PyScript) is compiled as usual.
    """

    def find_spec(self, name, path=None, target=None):
        if name not in PRECOMPILED:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is not None and type(spec.loader) is importlib.machinery.SourceFileLoader:
            spec.loader = PrecompiledLoader(spec.loader.name, spec.loader.path)
        return spec


class PrecompiledLoader(importlib.machinery.SourceFileLoader):
    """A file loader that skips compiling when the file holds exactly the source compiled into the snapshot."""

    def source_to_code(self, data, path, *, _optimize=-1):
        source, code = PRECOMPILED[self.name]
        if data != source or code.co_filename != path:
            return super().source_to_code(data, path, _optimize=_optimize)
        SERVED.append(self.name)
        return code


def forget_zip_contents():
    """Make every zip importer read the stdlib zip afresh: the page's zip is not the one the image was taken with.

    Loaders of modules already imported keep a directory of their own; a stale one would send tracebacks
    (linecache) to offsets that are not in the file.
    """
    zipimport._zip_directory_cache.clear()
    sys.path_importer_cache.clear()
    loaders = {id(m.__loader__): m.__loader__ for m in list(sys.modules.values()) if hasattr(m, "__loader__")}
    for loader in loaders.values():
        if isinstance(loader, zipimport.zipimporter):
            loader.invalidate_caches()
    importlib.invalidate_caches()


def drop_stale():
    """Forget the recorded core modules if any of their files changed, so `import` reads the files again.

    All of them go, not just the changed ones: the others may hold references into a changed module.
    Returns the names of the changed files ([] when the image matches, or when no image was used).
    """
    changed = []
    for name in RECORDED:
        module = sys.modules.get(name)
        try:
            same = module is not None and digest(module.__file__) == RECORDED[name]
        except OSError:
            same = False
        if not same:
            changed.append(name.replace(".", "/") + ("/__init__.py" if hasattr(module, "__path__") else ".py"))
    if changed:
        for name in RECORDED:
            sys.modules.pop(name, None)
        RECORDED.clear()
        importlib.invalidate_caches()
    return changed


class StdlibOnDemand(importlib.abc.MetaPathFinder):
    """The rest of the standard library, loaded the first time something imports a module the image lacks.

    `fetch` returns the full stdlib zip's bytes; they replace the page's small zip at the same path, so
    packages already in memory (whose __path__ points into that zip) find their other submodules too.
    """

    def __init__(self, fetch, note):
        self.fetch = fetch
        self.note = note

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] not in sys.stdlib_module_names:
            return None
        sys.meta_path.remove(self)  # once: from now on the full zip answers, or nothing does
        self.note(f"Python imports {name}, which its snapshot lacks: loading the full standard library")
        Path(stdlib_zip()).write_bytes(self.fetch())
        forget_zip_contents()
        return importlib.machinery.PathFinder.find_spec(name, path, target)


def after_restore(fetch_stdlib, note):
    """Run in the page before main.py: re-read changed core modules; load the rest of the stdlib on demand."""
    if changed := drop_stale():
        note(f"{', '.join(changed)} changed since the Python snapshot was made: read from the file instead")
    if RECORDED or changed:
        forget_zip_contents()
        sys.meta_path.append(StdlibOnDemand(fetch_stdlib, note))
