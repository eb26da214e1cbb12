"""The article under the tool: its maths typeset when it is first scrolled near, so that no reader waits for it."""

import js

from page.browser.views import import_vendored, jsobj


async def typeset_article():
    """The article's TeX, typeset with KaTeX; until then (or without it) the TeX source stays readable."""
    (katex,) = await import_vendored("katex/katex.mjs")
    for node in js.document.querySelectorAll("#article .math"):
        display = node.classList.contains("display")
        options = jsobj({"throwOnError": False, "displayMode": display})
        node.innerHTML = katex.default.renderToString(node.textContent, options)
        node.classList.add("typeset")
