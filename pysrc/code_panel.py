"""The code panel of the details view: the real Keras code of the encoder and the sampling layer, line by line.

The page shows `build_encoder` and `Sampling` exactly as `training/vae.py` defines them, so what a learner reads is
what was trained. Each line is linked to the graph parts it computes, and its `$…$` comments are set as maths.
"""

import ast
import io
import re
import tokenize
from dataclasses import dataclass

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


def extract(source, names=("build_encoder", "Sampling")):
    """Each named top-level def or class, decorators included, exactly as written in the file."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise CodeExtractError(f"{SOURCE} does not parse: {error.msg} (line {error.lineno})") from None
    nodes = {
        node.name: node for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    lines = _lines(source)
    snippets = []
    for name in names:
        node = nodes.get(name)
        if node is None:
            raise CodeExtractError(f"{SOURCE} no longer defines {name}")
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


def line_parts(line):
    """The graph parts one line of code computes; () for lines that compute none (and for comments on their own)."""
    code = line.strip()
    if code.startswith("#"):
        return ()
    return next((parts for pattern, parts in RULES if pattern.search(code)), ())


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


def render_plan(snippets):
    """One dict per line for the page to build from: the file's line number, the exact text (without its line
    ending), the graph parts it lights, and its segments. A comment on its own line lights what the next code
    line does, so an explanation and its code light up together."""
    plan = []
    for snippet in snippets:
        lines = _lines(snippet.text)
        columns = _comment_columns(snippet.text)
        parts = [line_parts(line) for line in lines]
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
