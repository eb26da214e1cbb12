"""The code panel against the real training code: what the page shows is exactly what `training/vae.py` trains,
each line lights the right graph parts, and the `$…$` comments come out as maths. The file imports TensorFlow,
so it is parsed here, never imported."""

import ast
from pathlib import Path

import pytest

from page import code_panel
from page.code_panel import CodeExtractError, extract, line_parts, render_plan
from vae import graph

SOURCE = (Path(__file__).resolve().parents[1] / code_panel.SOURCE).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def snippets():
    return extract(SOURCE)


@pytest.fixture(scope="module")
def plan(snippets):
    return render_plan(snippets)


def top_level(name):
    return next(node for node in ast.parse(SOURCE).body if getattr(node, "name", None) == name)


@pytest.mark.parametrize("name", ["build_encoder", "Sampling"])
def test_snippet_is_the_file_verbatim(snippets, name):
    snippet = next(s for s in snippets if s.name == name)
    node = top_level(name)
    assert snippet.first_line == node.lineno
    lines = SOURCE.splitlines(keepends=True)
    assert snippet.text == "".join(lines[node.lineno - 1 : node.end_lineno])
    assert snippet.text.startswith(("def build_encoder(", "class Sampling("))
    assert not snippet.text.endswith("\n\n")


@pytest.mark.parametrize("name", ["build_encoder", "Sampling"])
def test_snippet_is_the_same_code_as_the_module(snippets, name):
    snippet = next(s for s in snippets if s.name == name)
    (parsed,) = ast.parse(snippet.text).body
    assert ast.dump(parsed) == ast.dump(top_level(name))


def test_names_come_back_in_the_order_asked():
    assert [s.name for s in extract(SOURCE, ("Sampling", "build_encoder"))] == ["Sampling", "build_encoder"]


def test_decorators_are_included_and_trailing_comments_are_not():
    source = "import x\n\n\n@dec\n@other(1)\ndef f():\n    return 1  # kept\n# dropped\n\n\nclass C:\n    pass\n"
    (snippet,) = extract(source, ("f",))
    assert snippet.first_line == 4
    assert snippet.text == "@dec\n@other(1)\ndef f():\n    return 1  # kept\n"


def test_line_numbers_follow_ast_even_after_a_form_feed():
    source = "a = 1\n\x0c\nb = 2\ndef f():\n    pass\n"
    (snippet,) = extract(source, ("f",))
    assert snippet.first_line == 4
    assert snippet.text == "def f():\n    pass\n"


def test_missing_name_is_a_clear_error():
    renamed = SOURCE.replace("class Sampling(", "class Sampler(")
    with pytest.raises(CodeExtractError, match=r"^training/vae.py no longer defines Sampling$"):
        extract(renamed)


def test_nested_definitions_do_not_count():
    with pytest.raises(CodeExtractError, match="no longer defines build_encoder"):
        extract("def outer():\n    def build_encoder():\n        pass\n", ("build_encoder",))


def test_unparsable_source_is_a_clear_error():
    with pytest.raises(CodeExtractError, match="does not parse"):
        extract("def build_encoder(:\n")


def parts_of(plan, fragment):
    """The parts of the one code line containing `fragment`."""
    (row,) = [r for r in plan if fragment in r["text"] and not r["text"].lstrip().startswith("#")]
    return tuple(row["parts"])


@pytest.mark.parametrize(
    ("fragment", "parts"),
    [
        ("z_mean = layers.Dense(", ("mu",)),
        ("z_log_var = layers.Dense(", ("log_var",)),
        ("sigma = ops.exp(0.5 * z_log_var)", ("sigma",)),
        ("epsilon = keras.random.normal(", ("epsilon",)),
        ("return z_mean + sigma * epsilon", ("multiply", "add", "z")),
        ("z_mean, z_log_var = inputs", ("mu", "log_var")),
        ("keras.Input(", ("encoder",)),
        ("layers.Conv2D(32", ("encoder",)),
        ("layers.Flatten()", ("encoder",)),
        ("layers.Dense(16", ("encoder",)),
        ("return keras.Model(", ("encoder",)),
        ("super().__init__(", ()),
    ],
)
def test_real_lines_light_the_right_parts(plan, fragment, parts):
    assert parts_of(plan, fragment) == parts


def test_comments_light_up_with_their_code(plan):
    rows = {r["number"]: r for r in plan}
    for row in plan:
        if row["text"].lstrip().startswith("#"):
            following = next(rows[n] for n in range(row["number"] + 1, 10**6) if rows[n]["text"].strip())
            assert row["parts"] == following["parts"]
            assert row["parts"]  # every comment in these snippets explains a line that is in the graph


def test_every_part_but_the_decoder_is_in_the_code(plan):
    lit = {part for row in plan for part in row["parts"]}
    assert lit == set(graph.PARTS) - {"decoder"}
    assert lit <= set(graph.PARTS)


def test_plan_is_one_row_per_file_line(snippets, plan):
    lines = SOURCE.splitlines()
    for row in plan:
        assert row["text"] == lines[row["number"] - 1]
        assert set(row) == {"snippet", "number", "text", "parts", "segments"}
    for snippet in snippets:
        rows = [r for r in plan if r["snippet"] == snippet.name]
        assert [r["number"] for r in rows] == list(range(snippet.first_line, snippet.first_line + len(rows)))
        assert "".join(r["text"] + "\n" for r in rows) == snippet.text


def test_real_comments_split_into_text_and_maths(plan):
    by_line = {r["text"].strip(): r["segments"] for r in plan}
    assert by_line["# The mean of the encoding: $\\mu$"] == [
        ("code", "    "),
        ("comment", "# The mean of the encoding: "),
        ("math", "\\mu"),
    ]
    reparameterize = by_line[
        "# Reparameterize: $z = \\mu + \\sigma \\odot \\varepsilon$, differentiable in $\\mu$ and $\\sigma$"
    ]
    assert [kind for kind, _ in reparameterize] == ["code", "comment", "math", "comment", "math", "comment", "math"]
    assert ("math", "z = \\mu + \\sigma \\odot \\varepsilon") in reparameterize
    maths = [tex for row in plan for kind, tex in row["segments"] if kind == "math"]
    assert "\\sigma = \\exp(\\tfrac{1}{2} \\log\\sigma^2)" in maths
    assert "\\varepsilon \\sim \\mathcal{N}(0, I)" in maths
    assert all("$" not in tex for tex in maths)


def test_segments_rebuild_the_line(plan):
    for row in plan:
        rebuilt = "".join(f"${text}$" if kind == "math" else text for kind, text in row["segments"])
        assert rebuilt == row["text"]


def test_code_lines_have_no_comment_segment(plan):
    row = next(r for r in plan if "z_mean = layers.Dense(" in r["text"])
    assert row["segments"] == [("code", row["text"])]


@pytest.mark.parametrize(
    ("line", "segments"),
    [
        ('x = "# not a comment"', [("code", 'x = "# not a comment"')]),
        ('x = "$a$"  # costs $5', [("code", 'x = "$a$"  '), ("comment", "# costs $5")]),
        (
            "y = f(x)  # $a$ and $b$",
            [("code", "y = f(x)  "), ("comment", "# "), ("math", "a"), ("comment", " and "), ("math", "b")],
        ),
        ("foo(  # open $\\mu$", [("code", "foo(  "), ("comment", "# open "), ("math", "\\mu")]),
        ("", []),
    ],
)
def test_comment_segments(line, segments):
    """A comment's `$…$` are typeset as maths; a `#` or `$` inside a string stays code."""
    plan = render_plan([code_panel.Snippet("line", 1, line + "\n")])
    assert [row["segments"] for row in plan] == [segments]


def test_hash_inside_a_docstring_is_not_a_comment():
    text = 'def f():\n    """Use # as you like,\n    # even $here$ # too."""\n    return z_mean + sigma * epsilon\n'
    plan = render_plan([code_panel.Snippet("f", 1, text)])
    assert all(kind == "code" for row in plan for kind, _ in row["segments"])
    assert plan[2]["parts"] == []  # a docstring line is not a comment, so it does not borrow the next line's parts


def test_line_parts_ignores_comments_and_unknown_code():
    assert line_parts("    # z_mean = nothing") == ()
    assert line_parts("    print(z_mean)") == ()
    assert line_parts("    z_mean = layers.Dense(2)(x)  # $\\mu$") == ("mu",)


def test_errors_name_the_file_asked_for():
    with pytest.raises(CodeExtractError, match=r"^training/vqvae.py no longer defines VectorQuantizer$"):
        extract(SOURCE, ("VectorQuantizer",), "training/vqvae.py")


def test_lines_html_marks_parts_escapes_text_and_separates_snippets():
    plan = render_plan(
        [
            code_panel.Snippet("a", 3, 'z_mean = f("<b>")  # mean $\\mu$ & <i>\n'),
            code_panel.Snippet("b", 9, "pass\n"),
        ]
    )
    html = code_panel.lines_html(plan, lambda code: f"[{code}]", lambda tex: f"<math>{tex}</math>")
    first, gap, second = html.split("</div>", 2)
    assert first.startswith('<div class="code-line" data-parts="mu" data-source="z_mean = f(&quot;&lt;b&gt;&quot;)')
    assert '<span class="ln">3</span>' in first
    assert '[z_mean = f("<b>")  ]' in first  # the highlighter gets the code as it is, and escapes it itself
    assert '<span class="comment"># mean </span><math>\\mu</math><span class="comment"> &amp; &lt;i&gt;</span>' in first
    assert gap == '<div class="code-gap">'
    assert second.startswith('<div class="code-line" data-parts="" data-source="pass"')


class Node:
    """Just enough of a DOM element for the linking: attributes, a class list, listeners, a subtree."""

    def __init__(self, selector="", children=(), **attributes):
        self.selector, self.children, self.attributes = selector, list(children), attributes
        self.classes, self.listeners = set(), {}
        self.classList = self

    def toggle(self, name, on):
        (self.classes.add if on else self.classes.discard)(name)

    def getAttribute(self, name):
        return self.attributes.get(name)

    def querySelectorAll(self, selectors):
        wanted = {s.strip() for s in selectors.split(",")}
        return [child for child in self.children if child.selector in wanted]


def test_linking_lights_both_ways_and_clears():
    lines = [Node(".code-line", **{"data-parts": p}) for p in ("flatten", "lookup argmin", "")]
    parts = [Node("[data-part]", **{"data-part": p}) for p in ("flatten", "argmin", "lookup")]
    root = Node(children=[*lines, *parts])
    code_panel.bind_links(root, lambda node, event, handler: node.listeners.setdefault(event, handler))
    assert all(set(node.listeners) == {"mouseenter", "focus", "mouseleave", "blur"} for node in [*lines, *parts])

    lines[1].listeners["mouseenter"](None)  # a code line: its two parts, and every line that shares one
    assert [n.attributes.get("data-part") for n in parts if "lit" in n.classes] == ["argmin", "lookup"]
    assert [lines.index(n) for n in lines if "lit" in n.classes] == [1]
    assert "linked" in root.classes
    parts[0].listeners["focus"](None)  # a graph part: the code lines that compute it
    assert [lines.index(n) for n in lines if "lit" in n.classes] == [0]
    assert [n.attributes["data-part"] for n in parts if "lit" in n.classes] == ["flatten"]
    parts[0].listeners["blur"](None)
    assert not root.classes and not any("lit" in n.classes for n in [*lines, *parts])
    lines[2].listeners["mouseenter"](None)  # a line that computes nothing lights nothing and dims nothing
    assert not root.classes
