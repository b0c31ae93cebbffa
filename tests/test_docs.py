"""The documentation site: generated pages are current, the nav is whole, the build is strict."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _config() -> dict:
    # mkdocs.yml may carry !!python tags in future; a permissive loader keeps this a pure read.
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    return yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)


def _nav_pages(nav) -> list[str]:
    pages = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            pages += _nav_pages(value)
        elif isinstance(value, str) and not value.startswith(("http://", "https://")):
            pages.append(value)
    return pages


@pytest.mark.parametrize(("script", "page"), [("gen_study_reference", "study-reference.md"),
                                              ("gen_cli_reference", "cli.md")])
def test_generated_page_is_current(script, page):
    fresh = _script(script).generate()
    committed = (DOCS / page).read_text(encoding="utf-8")
    assert committed == fresh, f"docs/{page} is stale: run python scripts/{script}.py"


def test_study_reference_covers_every_schema_definition():
    from dcplan.spec import json_schema

    schema = json_schema()
    page = (DOCS / "study-reference.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^## (\w+)$", page, flags=re.M))
    assert set(schema["$defs"]) | {"Study"} == headings
    for name, node in schema["$defs"].items():
        section = page.split(f"## {name}\n", 1)[1].split("\n## ", 1)[0]
        for field in node.get("properties", {}):
            assert f"| `{field}` |" in section, f"{name}.{field} missing from the reference"


def test_cli_reference_lists_every_command():
    import typer.main

    from dcplan.cli import app

    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    root = typer.main.get_command(app)
    for name, command in root.commands.items():
        assert f"`dcplan {name}`" in page
        for sub in getattr(command, "commands", {}):
            assert f"`dcplan {name} {sub}`" in page


def test_nav_lists_existing_pages_and_every_page_is_in_nav():
    pages = _nav_pages(_config()["nav"])
    assert len(pages) == len(set(pages))
    missing = [p for p in pages if not (DOCS / p).is_file()]
    assert not missing, f"nav points at pages that do not exist: {missing}"
    orphans = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")
                     if p.relative_to(DOCS).as_posix() not in pages)
    assert not orphans, f"pages missing from the nav in mkdocs.yml: {orphans}"


def test_api_page_documents_modules_that_import():
    blocks = re.findall(r"^::: ([\w.]+)", (DOCS / "api.md").read_text(encoding="utf-8"), flags=re.M)
    assert {"dcplan.report", "dcplan.spec", "dcplan.results"} <= set(blocks)
    for module in blocks:
        assert importlib.util.find_spec(module) is not None, module


def test_docs_build_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    page = (tmp_path / "site" / "data-sources" / "index.html").read_text(encoding="utf-8")
    assert "chips.csv" in page, "data/README.md was not included"
    # the maths is MathML in the page itself: nothing to fetch, nothing left as raw TeX
    formulation = (tmp_path / "site" / "formulation" / "index.html").read_text(encoding="utf-8")
    maths = re.findall(r"<math.*?</math>", formulation, re.DOTALL)
    assert len(maths) > 20
    assert 'class="arithmatex"' not in formulation
    assert not any(re.search(r">\\[a-zA-Z]+", m) or "merror" in m for m in maths)
    for built in (tmp_path / "site").rglob("*.html"):
        text = built.read_text(encoding="utf-8")
        assert not re.search(r"<script[^>]+src=\"https?://", text), f"{built} loads a script from the network"
    api = (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")
    assert not re.search(r":(func|class|mod|meth|attr):<code>", api), "raw Sphinx roles on the API page"
    assert "::</p>" not in api
    # the citations lead somewhere: every "references §N" link has its anchor
    references = (tmp_path / "site" / "references" / "index.html").read_text(encoding="utf-8")
    for page_md in (ROOT / "docs").glob("*.md"):
        for anchor in re.findall(r"references\.md#(s\d+)", page_md.read_text(encoding="utf-8")):
            assert f'id="{anchor}"' in references, (page_md.name, anchor)


def test_architecture_lists_every_plan_output():
    from dcplan.results import OUTPUTS

    text = (DOCS / "architecture.md").read_text()
    missing = [name for name in OUTPUTS if f"`{name}(" not in text]
    assert not missing, f"docs/architecture.md does not describe plan outputs {missing}"
