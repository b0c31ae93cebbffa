"""The study schema: units at the edge, every problem reported at once, never a traceback."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dcplan.errors import SpecError
from dcplan.spec import Study, json_schema, load_study, parse_study

VALID = {
    "name": "two sites",
    "horizon": {"first_year": 2026, "last_year": 2030, "discount_rate": "7 %"},
    "fleet": {"gpus": [{"year": 2028, "chip": "h100_sxm", "gpus": "20,000"}]},
    "sites": {
        "inline": [
            {"site_id": "ashburn", "lat": 39.04, "lon": -77.49},
            {"site_id": "abilene", "lat": 32.45, "lon": -99.73, "land_mw": "0.5 GW"},
        ]
    },
    "limits": {"block_mw": "20 MW", "max_sites": 2},
    "solver": {"time_limit_s": "2 min"},
}


def test_valid_study_parses_to_canonical_units():
    study = parse_study(VALID)
    assert isinstance(study, Study)
    assert study.horizon.discount_rate == pytest.approx(0.07)
    assert study.fleet.gpus[0].gpus == 20000
    assert study.sites.inline[1].land_mw == pytest.approx(500.0)
    assert study.solver.time_limit_s == pytest.approx(120.0)
    assert study.chip_ids() == ["h100_sxm"]
    assert study.horizon.years == [2026, 2027, 2028, 2029, 2030]


def test_study_is_frozen():
    study = parse_study(VALID)
    from pydantic import ValidationError

    with pytest.raises(ValidationError):  # frozen model: assignment is refused
        study.name = "other"


def test_every_problem_is_reported_at_once(tmp_path):
    bad = copy.deepcopy(VALID)
    bad["horizon"] = {"first_year": 2030, "last_year": 2026}  # inverted years
    bad["fleet"]["gpus"].append({"year": 2028, "chip": "no_such_chip", "gpus": 5})  # unknown chip
    bad["sites"]["inline"][0]["lat"] = 123.0  # out of range
    bad["sites"]["inline"][1]["land_mw"] = "120 kg"  # wrong dimension
    bad["limits"]["max_build_mw_per_year"] = "-5 MW"  # negative power
    bad["cooling"] = {"allowed": ["air_chiller"], "colour": "blue"}  # unknown key
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(SpecError) as info:
        load_study(path)
    text = str(info.value)
    locations = [p.location for p in info.value.problems]
    assert all(str(path) in loc for loc in locations)
    assert "last_year 2026 is before first_year 2030" in text
    assert "fleet.gpus[1].chip" in text and "no_such_chip" in text
    assert "sites.inline[0].lat" in text
    assert "sites.inline[1].land_mw" in text and "[mass]" in text
    assert "limits.max_build_mw_per_year" in text
    assert "cooling.colour" in text
    assert len(info.value.problems) >= 6
    assert all(p.fix or "fix" not in p.message for p in info.value.problems)


def test_yaml_syntax_error_gives_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nhorizon: {first_year: 2026\n  last_year: [\n")
    with pytest.raises(SpecError, match=r"broken\.yaml:\d+:\d+: YAML syntax error"):
        load_study(path)


def test_missing_sections_are_named():
    with pytest.raises(SpecError) as info:
        parse_study({"name": "empty"})
    text = str(info.value)
    for section in ("horizon", "fleet", "sites"):
        assert f"{section}: Field required" in text


def test_targets_outside_horizon_rejected():
    bad = copy.deepcopy(VALID)
    bad["fleet"]["gpus"][0]["year"] = 2035
    with pytest.raises(SpecError, match="outside the horizon"):
        parse_study(bad)


def test_custom_chip_can_be_targeted():
    study_data = copy.deepcopy(VALID)
    study_data["chips"] = {
        "custom": [
            {
                "chip_id": "my_asic",
                "chip_tdp_w": "600 W",
                "gpus_per_rack": 64,
                "rack_kw": "45 kW",
                "air_coolable": True,
                "dense_bf16_tflops": "1.2 PFLOPS",
                "first_year": 2027,
                "price_usd_per_gpu": 20000,
                "service_life_yr": "5 yr",
            }
        ]
    }
    study_data["fleet"]["gpus"].append({"year": 2029, "chip": "my_asic", "gpus": 1000})
    study = parse_study(study_data)
    assert study.chip_ids() == ["h100_sxm", "my_asic"]
    assert study.chips.custom[0].dense_bf16_tflops == pytest.approx(1200.0)


def test_json_schema_covers_sections():
    schema = json_schema()
    json.dumps(schema)
    assert {"horizon", "fleet", "sites", "chips", "cooling", "limits", "solver"} <= set(
        schema["properties"]
    )
    assert schema["additionalProperties"] is False


def test_to_yaml_round_trips():
    study = parse_study(VALID)
    again = parse_study(yaml.safe_load(study.to_yaml()))
    assert again == study


# ---------------------------------------------------------------- property test
_junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10**12, 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["120 kg", "-5 MW", "1e400 kW", "nan", "36 month", "", "7 %"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def _paths(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield prefix + (key,)
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield prefix + (i,)
            yield from _paths(value, prefix + (i,))


ALL_PATHS = list(_paths(VALID))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edits=st.lists(st.tuples(st.sampled_from(ALL_PATHS), _junk, st.sampled_from(["set", "del", "extra"])),
                   min_size=1, max_size=4)
)
def test_malformed_studies_never_escape_as_uncaught_exceptions(edits):
    data = copy.deepcopy(VALID)
    for path, value, action in edits:
        node = data
        try:
            for part in path[:-1]:
                node = node[part]
            if action == "set":
                node[path[-1]] = value
            elif action == "del" and isinstance(node, dict):
                node.pop(path[-1], None)
            elif isinstance(node, dict):
                node[f"unknown_{path[-1]}"] = value
        except (KeyError, IndexError, TypeError):
            continue
    try:
        parse_study(data)
    except SpecError as exc:
        assert exc.problems, "a SpecError must list at least one problem"


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=200))
def test_arbitrary_yaml_text_gives_spec_error_or_study(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "study.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_study(path)
    except SpecError:
        pass
