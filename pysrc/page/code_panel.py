"""The code panel of the details views: the real Keras code, line by line, linked both ways to a graph.

The VAE's details show `build_encoder` and `Sampling` exactly as `training/vae.py` defines them (the VQ-VAE's,
`VectorQuantizer` from `training/vqvae.py`), so what a learner reads is what was trained. Each line is linked to
the graph parts it computes, and its `$…$` comments are set as maths.
"""

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from html import escape

SOURCE = "training/vae.py"


class CodeExtractError(ValueError):
    """The training code no longer has the shape the panel shows; the message says what is missing."""


@dataclass(frozen=True)
class Snippet:
    name: str
    first_line: int  # line number in the file, from 1
    text: str  # byte-identical to those lines of the file, line endings included


def _lines(source):
    """The file's lines as `ast` counts them: only \\n, \\r\\n and \\r end a line (str.splitlines also splits on
    form feeds and other separators, which would shift every line number after one)."""
    return io.StringIO(source, newline="").readlines()


def extract(source, names=("build_encoder", "Sampling"), path=SOURCE):
    """Each named top-level def or class, decorators included, exactly as written in the file; errors name `path`."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise CodeExtractError(f"{path} does not parse: {error.msg} (line {error.lineno})") from None
    nodes = {
        node.name: node for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    lines = _lines(source)
    snippets = []
    for name in names:
        node = nodes.get(name)
        if node is None:
            raise CodeExtractError(f"{path} no longer defines {name}")
        start = min([node.lineno] + [d.lineno for d in node.decorator_list])
        snippets.append(Snippet(name, start, "".join(lines[start - 1 : node.end_lineno])))
    return snippets


# What each line computes, as a graph part. Checked in order: the first pattern that matches the code wins, so the
# two Dense heads count as μ and log σ² before the general encoder-layer pattern sees them.
RULES = [
    (re.compile(r"^z_mean\s*,\s*z_log_var\s*="), ("mu", "log_var")),
    (re.compile(r"^z_mean\s*="), ("mu",)),
    (re.compile(r"^z_log_var\s*="), ("log_var",)),
    (re.compile(r"^sigma\s*="), ("sigma",)),
    (re.compile(r"^epsilon\s*=|SeedGenerator\("), ("epsilon",)),
    (re.compile(r"^return\b.*\bepsilon\b"), ("multiply", "add", "z")),
    (
        re.compile(r"^def build_encoder\b|\bInput\(|\blayers\.(Conv2D|Flatten|Dense)\(|^return keras\.Model\("),
        ("encoder",),
    ),
]


def line_parts(line, rules=RULES):
    """The graph parts one line of code computes; () for lines that compute none (and for comments on their own).
    `rules` are (pattern, parts) pairs, the first match wins: the VAE's by default; the VQ-VAE's graph has its own."""
    code = line.strip()
    if code.startswith("#"):
        return ()
    return next((parts for pattern, parts in rules if pattern.search(code)), ())


def _comment_columns(text):
    """{line index in text: column where its comment starts}, found by the tokenizer, so a `#` inside a string is
    never taken for a comment. A fragment that does not tokenize to the end keeps the comments found before."""
    columns = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text, newline="").readline):
            if token.type == tokenize.COMMENT:
                columns[token.start[0] - 1] = token.start[1]
    except (tokenize.TokenError, SyntaxError):
        pass
    return columns


def _segments(line, column):
    """A line as ("code", text), ("comment", text) and ("math", TeX) pieces: the comment's `$…$` are maths."""
    line = line.rstrip("\r\n")
    if column is None:
        return [("code", line)] if line else []
    segments = [("code", line[:column])] if column else []
    comment = line[column:]
    at = 0
    for match in re.finditer(r"\$([^$]+)\$", comment):
        if match.start() > at:
            segments.append(("comment", comment[at : match.start()]))
        segments.append(("math", match.group(1)))
        at = match.end()
    if at < len(comment):
        segments.append(("comment", comment[at:]))
    return segments


def render_plan(snippets, rules=RULES):
    """One dict per line for the page to build from: the file's line number, the exact text (without its line
    ending), the graph parts it lights, and its segments. A comment on its own line lights what the next code
    line does, so an explanation and its code light up together."""
    plan = []
    for snippet in snippets:
        lines = _lines(snippet.text)
        columns = _comment_columns(snippet.text)
        parts = [line_parts(line, rules) for line in lines]
        following = ()
        for index in reversed(range(len(lines))):
            if index in columns and not lines[index][: columns[index]].strip():
                parts[index] = following
            elif lines[index].strip():
                following = parts[index]
        plan += [
            {
                "snippet": snippet.name,
                "number": snippet.first_line + index,
                "text": line.rstrip("\r\n"),
                "parts": list(parts[index]),
                "segments": _segments(line, columns.get(index)),
            }
            for index, line in enumerate(lines)
        ]
    return plan


def lines_html(plan, highlight, typeset):
    """The code panel's HTML from `render_plan`: one focusable line each, linked to its graph parts by `data-parts`,
    a gap between snippets. `highlight(code)` and `typeset(tex)` return HTML (highlight.js and KaTeX in the page)."""
    html, previous = [], None
    for line in plan:
        if previous is not None and line["snippet"] != previous:
            html.append('<div class="code-gap"></div>')
        previous = line["snippet"]
        body = []
        for kind, text in line["segments"]:
            if kind == "code":
                body.append(highlight(text))
            elif kind == "math":
                body.append(typeset(text))
            else:
                body.append(f'<span class="comment">{escape(text)}</span>')
        parts = " ".join(line["parts"])
        indent = len(line["text"]) - len(line["text"].lstrip(" "))  # a wrapped line goes on under its own indent
        html.append(
            f'<div class="code-line" data-parts="{parts}" data-source="{escape(line["text"])}" tabindex="0">'
            f'<span class="ln">{line["number"]}</span><span class="code" style="--indent: {indent}ch">'
            f"{''.join(body)}</span></div>"
        )
    return "".join(html)


# Linking, both ways. `root` is the view's element; the functions only call its DOM methods (duck-typed), so this
# module stays free of the browser and one mechanism serves every details view.
LINKED = ".code-line, [data-part], .annotation, .story li"


def own_parts(node):
    """The parts a code line (data-parts), graph part (data-part) or story step (data-parts) belongs to."""
    return (node.getAttribute("data-parts") or node.getAttribute("data-part") or "").split()


def link(root, parts):
    """Light up what in `root` belongs to these parts (code lines, graph parts, story steps); dim the rest."""
    wanted = set(parts)
    root.classList.toggle("linked", bool(wanted))
    for node in root.querySelectorAll(LINKED):
        node.classList.toggle("lit", bool(wanted & set(own_parts(node))))


def bind_links(root, on):
    """Pointer and focus on a code line light its graph parts, and on a graph part its code lines; leaving clears.
    `on(node, event, handler)` adds a listener (the app keeps the proxies)."""
    for node in root.querySelectorAll(".code-line, [data-part]"):
        parts = own_parts(node)
        for name in ("mouseenter", "focus"):
            on(node, name, lambda event, parts=parts: link(root, parts))
        for name in ("mouseleave", "blur"):
            on(node, name, lambda event: link(root, ()))
