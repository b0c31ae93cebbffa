"""The compact formulation (GPUs online as window sums of their vintages) is the plain model
with the stock balance substituted: same optimum, and its GPUs satisfy the balance."""

from __future__ import annotations

import numpy as np
import pytest

from dcplan.optimize import build_model, solve
from dcplan.optimize.compact import compact_model, window_map
from dcplan.optimize.highs import handoff
from dcplan.optimize.solve import run_highs, set_options
from dcplan.testing.synthetic import make_inputs


def _lp(sm) -> tuple[float, np.ndarray]:
    ho = handoff(sm)
    ho.highs.changeColsIntegrality(
        sm.n_col, np.arange(sm.n_col, dtype=np.int32), np.zeros(sm.n_col, dtype=np.uint8)
    )
    set_options(ho.highs, time_limit_s=60, mip_rel_gap=0.0, threads=1, seed=0)
    ho.highs.run()
    return ho.highs.getInfo().objective_function_value, np.asarray(ho.highs.getSolution().col_value)


@pytest.mark.parametrize("seed,life", [(1, 1), (2, 3), (3, 5), (4, 30)])
def test_reconstructed_gpus_satisfy_the_stock_balance_and_every_plain_row(seed, life):
    """The compact LP optimum, expanded with W, is a point of the plain model: the balance
    rows hold, every other row holds, and it costs what the compact objective says."""
    ds = make_inputs(5, 8, seed=seed, service_life_yr=life)
    plain = build_model(ds)
    small = build_model(ds, compact=True)
    bal = plain.rows["gpu_stock_balance"]
    assert small.compact and "gpu_stock_balance" not in small.rows
    assert plain.n_row - small.n_row == bal.stop - bal.start
    assert plain.n_col - small.n_col == int((plain.variables["gpus"].pos >= 0).sum())
    objective, x = _lp(small)
    x_all = window_map(plain) @ x
    activity = plain.A @ x_all
    np.testing.assert_allclose(activity[bal.start : bal.stop], 0.0, atol=1e-9)
    tol = 1e-6 * (1 + np.abs(plain.rhs))
    le, ge = plain.senses == "le", plain.senses == "ge"
    assert np.all(activity[le] <= plain.rhs[le] + tol[le])
    assert np.all(activity[ge] >= plain.rhs[ge] - tol[ge])
    eq = ~(le | ge)
    assert np.all(np.abs(activity[eq] - plain.rhs[eq]) <= tol[eq])
    assert np.all(x_all >= plain.col_lower - 1e-9) and np.all(x_all <= plain.col_upper + 1e-9)
    assert plain.cost @ x_all == pytest.approx(objective, rel=1e-9)
    # sm.values reads the GPUs back through the same map, shaped like the plain family
    g = small.values(x, "gpus")
    np.testing.assert_allclose(g, plain.values(x_all, "gpus"))
    # and the LP optimum is the plain model's
    assert objective == pytest.approx(_lp(plain)[0], rel=1e-7)


def test_other_families_keep_their_labels_and_values():
    ds = make_inputs(4, 6, seed=7, service_life_yr=2)
    plain, small = build_model(ds), compact_model(build_model(ds))
    for name, fam in small.rows.items():
        assert fam.labels == plain.rows[name].labels
        assert fam.stop - fam.start == plain.rows[name].stop - plain.rows[name].start
    assert sum(f.stop - f.start for f in small.rows.values()) == small.n_row
    _, x = _lp(small)
    x_all = window_map(plain) @ x
    for name in plain.variables:
        np.testing.assert_allclose(small.values(x, name), plain.values(x_all, name), atol=1e-12)


def test_compact_module_names_the_model_axes():
    from dcplan.optimize import compact, model

    assert compact.AX == model.AX


def test_without_a_stock_balance_the_model_is_left_as_it_is():
    ds = make_inputs(3, 4, seed=1)
    sm = build_model(ds, skip=("gpu_stock",))
    assert compact_model(sm) is sm


def test_pyomo_route_of_the_compact_model_gives_its_matrix():
    ds = make_inputs(4, 5, seed=3, service_life_yr=2)
    sm = build_model(ds, compact=True)
    objs = []
    for compile_pyomo in (False, True):
        ho = handoff(sm, compile_pyomo=compile_pyomo)
        assert (ho.cols == np.arange(sm.n_col)).all() if not compile_pyomo else True
        set_options(ho.highs, time_limit_s=60, mip_rel_gap=0.0, threads=1, seed=0)
        objs.append(run_highs(ho)["objective"])
    assert "gpus" not in {c.name for c in sm.model.component_objects()}
    assert objs[0] == pytest.approx(objs[1], rel=1e-9)


def test_compact_plan_reads_back_like_the_plain_plan():
    """A solve in the compact form gives a Plan with GPUs online, that passes its audit
    (which re-checks the stock balance from the plan's own outputs) and costs the same."""
    ds = make_inputs(6, 7, seed=5, service_life_yr=3)
    a = solve(ds, mip_rel_gap=1e-7, compact=True)
    b = solve(ds, mip_rel_gap=1e-7)
    assert a.audit().ok, a.audit()
    assert a.objective_usd == pytest.approx(b.objective_usd, rel=1e-6)
    assert float(a.dataset["gpus"].sum()) > 0
    assert a.dataset.attrs["n_rows"] < b.dataset.attrs["n_rows"]
