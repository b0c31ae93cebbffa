"""mkdocs hooks: maths rendered to MathML at build time, docstring cross-references as code,
and the example gallery executed during the build.

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
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

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


# ------------------------------------------------------------------------ example gallery
#: the examples shown in the gallery, in page order
GALLERY = ("cooling_across_climates", "training_1gw_2028", "transformer_delay")
_ROOT = Path(__file__).resolve().parents[1]


def _title(source: str, fallback: str) -> str:
    match = re.search(r"^# # (.+)$", source, re.MULTILINE)
    return match.group(1).strip() if match else fallback


def _run_example(name: str, out: Path) -> str:
    """Run ``examples/<name>.py`` in its fast mode; return what it printed."""
    env = dict(os.environ, DCPLAN_FAST="1", MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")])))
    result = subprocess.run([sys.executable, str(_ROOT / "examples" / f"{name}.py"), "--out", str(out)],
                            cwd=_ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        msg = f"example {name} failed in the docs build:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
        raise RuntimeError(msg)
    return result.stdout


def on_files(files, config):
    """Add the example gallery: each example run in its fast mode, its output and figures.

    ``DCPLAN_GALLERY=run`` (the default) executes every example; ``DCPLAN_GALLERY_ONLY`` names a
    comma-separated subset to execute (the others show their source only); ``DCPLAN_GALLERY=skip``
    executes none.
    """
    from mkdocs.structure.files import File

    mode = os.environ.get("DCPLAN_GALLERY", "run")
    only = {n for n in os.environ.get("DCPLAN_GALLERY_ONLY", "").split(",") if n}
    work = Path(tempfile.mkdtemp(prefix="dcplan-gallery-"))
    index = ["# Example gallery", "",
             "Each example is a script (and a notebook through jupytext) in `examples/`. The docs "
             "build runs it in its fast mode (`DCPLAN_FAST=1`: fewer sites or cities) and shows "
             "what it printed and drew; every number comes from that run.", ""]
    for name in GALLERY:
        source = (_ROOT / "examples" / f"{name}.py").read_text(encoding="utf-8")
        title = _title(source, name)
        index.append(f"- [{title}]({name}.md)")
        page = [f"# {title}", "", f"Source: `examples/{name}.py`. Run it with "
                f"`python examples/{name}.py --out DIR` (add `DCPLAN_FAST=1` for the fast variant).", ""]
        executed = mode == "run" and (not only or name in only)
        if executed:
            out = work / name
            printed = _run_example(name, out)
            page += ["## What the run printed (fast mode)", "", "```text", printed.strip(), "```", ""]
            for png in sorted(out.glob("*.png")):
                uri = f"gallery/{name}/{png.name}"
                files.append(File.generated(config, uri, abs_src_path=str(png)))
                page += [f"![{png.stem.replace('_', ' ')}]({name}/{png.name})", ""]
        else:
            page += ['!!! note "Not executed in this build"',
                     "    Set `DCPLAN_GALLERY=run` to run the example while building the docs.", ""]
        page += ['??? example "The script"', "", "    ```python"]
        page += [f"    {line}" if line else "" for line in source.splitlines()]
        page += ["    ```", ""]
        files.append(File.generated(config, f"gallery/{name}.md", content="\n".join(page)))
    files.append(File.generated(config, "gallery/index.md", content="\n".join(index) + "\n"))
    return files
