"""The article's maths typeset when index.html is served or built, with the vendored KaTeX run by Node (npm brings
both): the page arrives with its formulas at their final size, so nothing below them moves as they are read, and
the reader's browser never loads KaTeX's script for the article. Node takes about half a second, so each result is
kept in KATEX_CACHE by the formulas and the KaTeX that typeset them: a server's first page comes no later for it."""

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

from serving.folders import NODE_MODULES

KATEX_CACHE = NODE_MODULES / ".cache" / "vae-explainer-katex"

# stdin: a JSON list of [TeX, display]; stdout: a JSON list of KaTeX's HTML (with MathML, for screen readers).
KATEX_JS = (
    "import { readFileSync } from 'node:fs'; import { pathToFileURL } from 'node:url';"
    "const katex = (await import(pathToFileURL(process.argv[1]))).default;"
    "const items = JSON.parse(readFileSync(0, 'utf8'));"
    "process.stdout.write(JSON.stringify(items.map(([tex, displayMode]) =>"
    " katex.renderToString(tex, {displayMode, throwOnError: false}))));"
)


def typesetter(root: Path):
    """A function from [(TeX, display)] to KaTeX's HTML for each, or None without Node or the vendored KaTeX (the
    TeX then shows as written, in the monospace that article.css gives it)."""
    node, script = shutil.which("node"), root / "web" / "vendor" / "katex" / "katex.mjs"
    if node is None or not script.is_file():
        print("note: the article's maths is served as TeX (no node, or no web/vendor/katex)", file=sys.stderr)
        return None

    def typeset(items):
        key = hashlib.sha256(script.read_bytes() + json.dumps(items).encode()).hexdigest()
        cached = KATEX_CACHE / f"{key}.json"
        if cached.is_file():
            return json.loads(cached.read_text(encoding="utf-8"))
        done = subprocess.run(
            [node, "--input-type=module", "-e", KATEX_JS, str(script)],
            input=json.dumps(items),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        KATEX_CACHE.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".new")
        partial.write_text(done.stdout, encoding="utf-8")
        partial.replace(cached)  # whole, for a server thread that reads it meanwhile
        return json.loads(done.stdout)

    return typeset
