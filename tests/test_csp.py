"""The page carries its Content-Security-Policy in a <meta> too, so a plain static host enforces the same policy
that serve.py sends; the two must not drift apart."""

import re
from pathlib import Path

import serve

INDEX = Path(__file__).resolve().parents[1] / "web" / "index.html"


def directives(policy):
    return {part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part}


def test_meta_policy_matches_the_server_policy():
    meta = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', INDEX.read_text()).group(1)
    header = directives(serve.CSP)
    header.pop("frame-ancestors")  # only meaningful as a header; browsers ignore it in <meta>
    assert directives(meta) == header


def test_policy_forbids_eval_and_foreign_origins():
    policy = directives(serve.CSP)
    assert policy["script-src"] == ["'self'", "'wasm-unsafe-eval'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert "'unsafe-eval'" not in serve.CSP


def test_page_has_no_inline_script_or_handlers():
    html = INDEX.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\son[a-z]+=", html)
    assert "style=" not in html
