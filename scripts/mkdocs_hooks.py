"""mkdocs hooks: maths rendered to MathML at build time, docstring cross-references as code.

pymdownx.arithmatex (generic mode) wraps TeX in ``<span class="arithmatex">\\( ... \\)</span>``
and ``<div class="arithmatex">\\[ ... \\]</div>``. This hook converts each one with
latex2mathml (pure Python, from PyPI), so the pages carry MathML that browsers draw
natively: no script, no CDN, and the formulas read the same offline.

The docstrings are numpydoc; their cross-references (``:func:`solve```, ``:class:`~x.Plan```)
are Sphinx roles that mkdocstrings leaves as text. They are rendered as the code they name
(``~`` drops the module path, as Sphinx does), and a paragraph ending in ``::`` (a literal
block follows) ends in ``:``.
"""

from __future__ import annotations

import html
import re

from latex2mathml.converter import convert

_BLOCK = re.compile(r'<div class="arithmatex">\s*\\\[(.*?)\\\]\s*</div>', re.DOTALL)
_INLINE = re.compile(r'<span class="arithmatex">\s*\\\((.*?)\\\)\s*</span>', re.DOTALL)
#: TeX spacing and sizing commands latex2mathml does not know; their meaning survives without them
_DROP = re.compile(r"\\(?:Big|big|Bigg|bigg)(?=[lr]?[\\(\[|.])|\\[,;!:]")


def _mathml(tex: str, display: str) -> str:
    source = html.unescape(tex)
    source = source.replace(r"\tfrac", r"\frac").replace(r"\dfrac", r"\frac")
    source = _DROP.sub(" ", source)
    return convert(source, display=display)


_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|obj|exc|const|ref):<code>(~?)([^<]*)</code>")
_LITERAL = re.compile(r"::</p>")


def _role(match: re.Match) -> str:
    target = match.group(2)
    if match.group(1):  # ~pkg.mod.Name shows as Name
        target = target.rsplit(".", 1)[-1]
    return f"<code>{target}</code>"


def on_page_content(content: str, **_kwargs) -> str:
    content = _BLOCK.sub(lambda m: f'<div class="math">{_mathml(m.group(1), "block")}</div>', content)
    content = _INLINE.sub(lambda m: _mathml(m.group(1), "inline"), content)
    content = _ROLE.sub(_role, content)
    return _LITERAL.sub(":</p>", content)
