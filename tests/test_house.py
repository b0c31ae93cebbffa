"""The shape of the package: imports only go down, and a plan carries its own shadow prices."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dcplan"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _type_checking_lines(tree: ast.AST) -> set[int]:
    """Line numbers inside ``if TYPE_CHECKING:`` blocks (imports for annotations only)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def import_graph() -> dict[str, set[str]]:
    """Module -> dcplan modules it imports, at module level or inside functions."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_lines(tree)
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
                # "from dcplan.report import figures" imports the submodule
                targets += [f"{node.module}.{a.name}" for a in node.names
                            if f"{node.module}.{a.name}" in modules]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_the_import_graph_has_no_cycles():
    graph = import_graph()
    assert len(graph) > 20 and graph["dcplan.cli"]  # the graph was really drawn
    assert _cycles(graph) == []


def test_a_cycle_would_be_found():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_floors_plan_data_never_imports_the_optimiser_or_the_report():
    graph = import_graph()

    def below(module: str) -> set[str]:
        seen, todo = set(), [module]
        while todo:
            for nxt in graph[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    results = below("dcplan.results")
    assert not {m for m in results if m.startswith(("dcplan.optimize", "dcplan.report"))}
    assert "dcplan.results" in below("dcplan.report")
    assert not {m for m in below("dcplan.optimize") if m.startswith("dcplan.report")}


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    from dcplan.optimize import solve
    from dcplan.results import Plan
    from dcplan.testing.synthetic import make_inputs

    plan = solve(make_inputs(6, 5, seed=3), mip_rel_gap=1e-4)
    folder = tmp_path_factory.mktemp("plan") / "run"
    plan.to_dir(folder)
    return plan, Plan.from_dir(folder)


def test_shadow_prices_are_stored_at_solve_time_and_read_back(solved):
    from dcplan.optimize import shadow_prices
    from dcplan.results import DUAL_COLUMNS

    plan, back = solved
    table = plan.shadow_prices()
    assert list(table.columns) == DUAL_COLUMNS and len(table)
    assert (table["binding"] > 0).any()
    again = back.shadow_prices()  # from plan.nc, no optimiser involved
    assert list(again["constraint"]) == list(table["constraint"])
    np.testing.assert_allclose(again["usd_per_unit"], table["usd_per_unit"])
    repriced = shadow_prices(back)  # rebuilding the model gives the same duals
    np.testing.assert_allclose(repriced["dual"], table["dual"], rtol=1e-6, atol=1e-9)


def test_actionable_rows_are_at_opened_sites_and_used_coolings(solved):
    plan, _ = solved
    table = plan.shadow_prices()
    ds = plan.dataset
    opened = set(ds["site"].values[ds["site_open"].values.astype(bool)].astype(str))
    used = set(ds["cooling"].values[(ds["it_capacity_mw"] > 0).any(("site", "year")).values].astype(str))
    for where in table.loc[table["actionable"], "where"]:
        parts = set(str(where).split("/"))
        assert not (parts & set(ds["site"].values.astype(str))) - opened, where
        assert not (parts & set(ds["cooling"].values.astype(str))) - used, where


def test_a_plan_without_stored_duals_says_so(solved):
    from dcplan.report import binding_constraints_text
    from dcplan.results import Plan

    _, back = solved
    bare = Plan(back.dataset.drop_vars([v for v in back.dataset.variables if str(v).startswith("dual_")]))
    assert bare.shadow_prices() is None
    assert "not available" in binding_constraints_text(bare)[0]
