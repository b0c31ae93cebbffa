"""Tests of dcplan.physics.chips and the shipped data/chips.csv.

Every asserted figure names its public source (see data/README.md, section chips.csv, and
../shared/reference/physical_facts.md sections 1, 6 and 9).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from dcplan.physics import chips

CHIPS_CSV = Path(__file__).resolve().parents[1] / "data" / "chips.csv"
COLUMNS = (
    "chip_id,name,vendor,system,chip_tdp_w,gpus_per_node,node_max_kw,gpus_per_rack,rack_kw,"
    "air_coolable,liquid_heat_fraction,dense_bf16_tflops,dense_fp8_tflops,memory_gb,first_year,"
    "price_usd_per_gpu,service_life_yr,scenario,power_smoothing,network_kw_per_gpu,"
    "storage_kw_per_gpu,mgmt_kw_per_gpu,source"
).split(",")
IDS = ["a100_sxm", "h100_sxm", "h200_sxm", "b200_hgx", "gb200_nvl72", "gb300_nvl72",
       "mi300x", "mi355x", "rubin_nvl144"]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return pd.read_csv(CHIPS_CSV, true_values=["true"], false_values=["false"]).set_index(
        "chip_id")


# ----------------------------------------------------------------- functions, known values

def test_dgx_h100_node_from_parts():
    # NVIDIA DGX H100 user guide: 10.2 kW max; 8 x H100 SXM5 at 700 W (datasheet)
    assert chips.node_power_kw(700, 8) == pytest.approx(10.2)


def test_superpod_h100_rack():
    # NVIDIA DGX SuperPOD H100 design: 4 DGX H100 per rack = 40.8 kW, 32 GPUs
    rack = chips.rack_power_kw(4, 10.2)
    assert rack == pytest.approx(40.8)
    assert chips.it_kw_per_gpu(rack, 32) == pytest.approx(1.275)


def test_100k_h100_fleet():
    # physical_facts sect. 9 check 2: 100,000 H100 in DGX-class nodes -> 127.5 MW IT at
    # nameplate, ~105 MW at the measured 8.4 kW/node (Latif et al. 2025, arXiv:2506.14551)
    nameplate = chips.fleet_it_mw(100_000, chips.it_kw_per_gpu(40.8, 32))
    assert nameplate == pytest.approx(127.5)
    measured = chips.fleet_it_mw(100_000, 10.2 / 8, load_fraction=8.4 / 10.2)
    assert measured == pytest.approx(105.0)
    # facility peak at PUE 1.2-1.3 lands in 130-170 MW (check 2)
    for pue in (1.2, 1.3):
        assert 130 <= nameplate * pue <= 170


def test_gb200_nvl72_rack_from_trays():
    # NVIDIA Hot Chips 2025: ~7 kW per compute tray, 18 trays; 9 NVLink switch trays;
    # rack power quoted 120-150 kW (Schneider 132 kW, NVIDIA SU 1.2 MW / 8 racks = 150 kW)
    rack = chips.rack_power_kw(18, 7.0, overhead_kw=9 * 0.4 + 2.4)
    assert 120 <= rack <= 150


def test_perf_per_watt_known():
    # physical_facts sect. 1c: H100 989 TF / 700 W = 1.41; DGX H100 node ~0.78 TF/W
    assert chips.perf_per_watt(989.4, 700) == pytest.approx(1.413, abs=1e-3)
    assert chips.system_perf_per_watt(989.4, 10.2 / 8) == pytest.approx(0.776, abs=1e-3)
    # A100 312 TF / 400 W = 0.78
    assert chips.perf_per_watt(312, 400) == pytest.approx(0.78)


def test_fleet_dense_pflops_and_gpus_per_mw():
    # GB200 NVL72: 72 x 2.5 PF dense BF16 = 180 PF per rack (NVIDIA via glennklockwood)
    assert chips.fleet_dense_pflops(72, 2500) == pytest.approx(180.0)
    assert chips.gpus_per_it_mw(1.275) == pytest.approx(1000 / 1.275)


def test_scalar_ndarray_dataarray_agree():
    rack = np.array([40.8, 132.0, 28.6])
    n = np.array([32, 72, 16])
    arr = chips.it_kw_per_gpu(rack, n)
    da = chips.it_kw_per_gpu(xr.DataArray(rack, dims="chip"), xr.DataArray(n, dims="chip"))
    assert isinstance(da, xr.DataArray) and da.dims == ("chip",)
    for i in range(3):
        assert chips.it_kw_per_gpu(rack[i], n[i]) == pytest.approx(arr[i])
    np.testing.assert_allclose(da.values, arr)
    # broadcasting by dim name: chip x year fleet
    fleet = chips.fleet_it_mw(xr.DataArray([1000, 2000], dims="year"), da)
    assert set(fleet.dims) == {"chip", "year"}
    np.testing.assert_allclose(fleet.isel(year=0).transpose("chip").values, arr)
    np.testing.assert_allclose(fleet.isel(year=1).values, 2 * arr)


@pytest.mark.parametrize(
    ("func", "args", "name"),
    [
        (chips.it_kw_per_gpu, (40.8, 0), "gpus_per_rack"),
        (chips.it_kw_per_gpu, (-1.0, 32), "rack_kw"),
        (chips.fleet_it_mw, (10, 1.2, 1.2), "load_fraction"),
        (chips.fleet_it_mw, (-10, 1.2), "n_gpus"),
        (chips.perf_per_watt, (989, 0), "power_w"),
        (chips.node_power_kw, (np.nan, 8), "chip_tdp_w"),
        (chips.rack_power_kw, (4, 10.2, -1), "overhead_kw"),
    ],
)
def test_invalid_inputs_name_the_parameter(func, args, name):
    with pytest.raises(ValueError, match=name):
        func(*args)


# ----------------------------------------------------------------- the shipped catalog

def test_catalog_columns_and_ids(table):
    assert list(pd.read_csv(CHIPS_CSV, nrows=0).columns) == COLUMNS
    assert list(table.index) == IDS
    text = CHIPS_CSV.read_text()
    for column in ("air_coolable", "scenario", "power_smoothing"):
        assert table[column].dtype == bool, column
    assert "True" not in text and "False" not in text  # booleans written true/false


def test_catalog_rack_power_consistent_with_nodes(table):
    # rack = nodes x node power for node-based systems; NVL racks add switch trays/shelves
    nodes = table.gpus_per_rack / table.gpus_per_node
    assert (nodes == nodes.round()).all()
    node_sum = nodes * table.node_max_kw
    assert (table.rack_kw >= node_sum - 1e-9).all()
    assert (table.rack_kw <= 1.2 * node_sum).all()


def test_catalog_figures_match_public_sources(table):
    t = table
    # NVIDIA datasheets (physical_facts 1a): TDPs
    assert t.loc["a100_sxm", "chip_tdp_w"] == 400
    assert t.loc["h100_sxm", "chip_tdp_w"] == 700 == t.loc["h200_sxm", "chip_tdp_w"]
    assert t.loc["b200_hgx", "chip_tdp_w"] == 1000
    assert t.loc["gb200_nvl72", "chip_tdp_w"] == 1200
    assert t.loc["gb300_nvl72", "chip_tdp_w"] == 1400
    assert t.loc["mi300x", "chip_tdp_w"] == 750  # AMD launch footnote
    assert t.loc["mi355x", "chip_tdp_w"] == 1400  # AMD at ISC 2025
    # DGX H100 user guide 10.2 kW; SuperPOD 4 per rack = 40.8 kW, 32 GPUs
    assert t.loc["h100_sxm", "node_max_kw"] == 10.2
    assert t.loc["h100_sxm", "rack_kw"] == pytest.approx(40.8)
    assert t.loc["h100_sxm", "gpus_per_rack"] == 32
    # DGX B200 user guide 14.3 kW; at most 2 per 40 kW air rack (check 1)
    assert t.loc["b200_hgx", "node_max_kw"] == 14.3
    assert t.loc["b200_hgx", "rack_kw"] <= 40 < 3 * 14.3
    # NVL72: 72 GPUs, 120-150 kW, no air option (NVIDIA GB200 user guide; sect. 10)
    for chip in ("gb200_nvl72", "gb300_nvl72"):
        assert t.loc[chip, "gpus_per_rack"] == 72
        assert 120 <= t.loc[chip, "rack_kw"] <= 150
        assert not t.loc[chip, "air_coolable"]
        assert 0.85 <= t.loc[chip, "liquid_heat_fraction"] <= 0.9
    assert t.loc["gb300_nvl72", "power_smoothing"]  # NVIDIA GB300 power smoothing blog
    assert 135 <= t.loc["gb300_nvl72", "rack_kw"] <= 140
    # Rubin: roadmap scenario, liquid only, ~190-227 kW estimates (TrendForce)
    assert t.loc["rubin_nvl144", "scenario"]
    assert not t.loc["rubin_nvl144", "air_coolable"]
    assert 190 <= t.loc["rubin_nvl144", "rack_kw"] <= 227
    assert t.loc[~t.index.isin(["rubin_nvl144"]), "scenario"].eq(False).all()
    # dense BF16 (physical_facts 1a)
    assert t.loc["h100_sxm", "dense_bf16_tflops"] == pytest.approx(989.4)
    assert t.loc["b200_hgx", "dense_bf16_tflops"] == 2250
    assert t.loc["mi300x", "dense_bf16_tflops"] == 1307
    # liquid-only parts are never air coolable; air parts have DLC-range liquid fractions
    assert (t.liquid_heat_fraction.between(0.75, 0.9)).all()
    assert (t.service_life_yr.between(4, 6)).all()


def test_catalog_prices_within_public_estimates(table):
    # GB200 NVL72 ~$3.1M per rack (SemiAnalysis via fetchlogic) / 72, plus a network share,
    # below the ~$5M/rack all-in estimate; physical_facts sect. 6
    gb200 = table.loc["gb200_nvl72", "price_usd_per_gpu"]
    assert 3.1e6 / 72 <= gb200 <= 5.0e6 / 72
    # GB300 NVL72 est. $3-4M per rack
    gb300 = table.loc["gb300_nvl72", "price_usd_per_gpu"]
    assert 3.0e6 / 72 <= gb300 <= 4.0e6 / 72 * 1.2
    # ~$50k all-in per H100 including networking
    assert 40_000 <= table.loc["h100_sxm", "price_usd_per_gpu"] <= 55_000
    # check 11: IT capex per MW for GB200 is ~2x facility capex ($9-15M/MW) -> $20-30M/MW
    per_mw = gb200 / (table.loc["gb200_nvl72", "rack_kw"] / 72 / 1000)
    assert 20e6 <= per_mw <= 30e6


def test_catalog_fleet_check_from_table(table):
    # check 2 again, from the shipped row rather than literals
    row = table.loc["h100_sxm"]
    per_gpu = chips.it_kw_per_gpu(row.rack_kw, row.gpus_per_rack)
    assert chips.fleet_it_mw(100_000, per_gpu) == pytest.approx(127.5)
    # peak IT never exceeds N/8 x 10.2 kW (check 2)
    assert per_gpu * 8 <= 10.2 + 1e-9
    b200 = table.loc["b200_hgx"]
    assert chips.it_kw_per_gpu(b200.rack_kw, b200.gpus_per_rack) * 8 <= 14.3 + 1e-9


def test_cluster_level_power_per_gpu(table):
    # NVIDIA DGX SuperPOD GB200 RA: one scalable unit (8 NVL72 racks, 576 GPUs) has a
    # TDP of 1.2 MW; the cluster-level figure per GPU reproduces it (rack-only: 1.83 kW)
    row = table.loc["gb200_nvl72"]
    cluster = chips.cluster_kw_per_gpu(row.rack_kw, row.gpus_per_rack, row.network_kw_per_gpu,
                                       row.storage_kw_per_gpu, row.mgmt_kw_per_gpu)
    assert cluster * 576 == pytest.approx(1.2e3, rel=0.005)
    assert chips.it_kw_per_gpu(row.rack_kw, row.gpus_per_rack) == pytest.approx(1.833, abs=1e-3)
    # H100 (DGX SuperPOD H100): fabric + storage + management add ~10 % to the rack figure
    row = table.loc["h100_sxm"]
    rack = chips.it_kw_per_gpu(row.rack_kw, row.gpus_per_rack)
    cluster = chips.cluster_kw_per_gpu(row.rack_kw, row.gpus_per_rack, row.network_kw_per_gpu,
                                       row.storage_kw_per_gpu, row.mgmt_kw_per_gpu)
    assert 1.05 < cluster / rack < 1.15
    with pytest.raises(ValueError, match="network_kw_per_gpu"):
        chips.cluster_kw_per_gpu(40.8, 32, -0.1)
