"""The JSON Schema of study files accepts every study the project ships or shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

jsonschema = pytest.importorskip("jsonschema")

from dcplan.spec import json_schema, parse_study  # noqa: E402
from dcplan.starter import starter_study  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"```ya?ml\n(.*?)```", re.DOTALL)


def _documented_studies() -> list[tuple[str, dict]]:
    found = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for i, block in enumerate(FENCE.findall(page.read_text(encoding="utf-8"))):
            data = yaml.safe_load(block)
            if isinstance(data, dict) and "horizon" in data:
                found.append((f"{page.relative_to(ROOT)}#{i}", data))
    return found


SHIPPED = sorted((ROOT / "models").glob("*.yaml"))
DOCUMENTED = _documented_studies()


@pytest.fixture(scope="module")
def validator():
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_there_are_studies_to_check():
    assert len(SHIPPED) >= 3
    assert DOCUMENTED, "docs/getting-started.md shows a study"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_study_validates(validator, path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(data)]
    assert not errors
    parse_study(data, str(path))  # and the loader agrees


@pytest.mark.parametrize("where,data", DOCUMENTED, ids=[w for w, _ in DOCUMENTED])
def test_documented_study_validates(validator, where, data):
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(data)]
    assert not errors, where
    parse_study(data, where)


def test_starter_study_validates(validator):
    data = yaml.safe_load(starter_study("starter"))
    assert not list(validator.iter_errors(data))


def test_quantity_fields_take_numbers_and_strings_but_not_other_types(validator):
    data = yaml.safe_load((ROOT / "models" / "inference_fleet.yaml").read_text(encoding="utf-8"))
    for rate in (0.08, "8 %"):
        data["horizon"]["discount_rate"] = rate
        assert validator.is_valid(data)
    data["horizon"]["discount_rate"] = [8]
    assert not validator.is_valid(data)
    data["horizon"]["discount_rate"] = 0.08
    data["limits"]["no_such_limit"] = 1
    assert not validator.is_valid(data)  # unknown keys are refused, as the loader refuses them
