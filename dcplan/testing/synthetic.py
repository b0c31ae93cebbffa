"""Random but valid inputs Datasets, for tests and benchmarks.

:func:`make_inputs` returns a Dataset that follows the inputs contract of
``docs/architecture.md`` (same variables, dims, units and scalar attrs) with magnitudes of
real US projects: 1-2 kW of IT per GPU, PUE 1.1-1.5, $8-14 M per IT MW of facility, $20-60 k
per GPU, interconnect options of 50-1,500 MW that energise 0-8 years out. It never calls
physics: the per-GPU facility coefficients are composed from the PUE/WUE draws directly, so
the optimiser can be tested and benchmarked without the rest of the pipeline.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from dcplan.economics import capital_factor

#: per-chip figures: it_kw_per_gpu [kW], dense_pflops [PFLOPS], gpu_capex_usd [USD],
#: first-year offset from the horizon start [yr], air-coolable
CHIPS: dict[str, tuple[float, float, float, int, bool]] = {
    "h100_sxm": (1.40, 0.99, 30_000.0, 0, True),
    "mi300x": (1.35, 1.31, 20_000.0, 0, True),
    "b200_hgx": (1.85, 2.25, 42_000.0, 0, True),
    "gb200_nvl72": (2.00, 2.50, 55_000.0, 1, False),
    "gb300_nvl72": (2.20, 2.50, 62_000.0, 2, False),
    "rubin_nvl144": (2.60, 4.00, 75_000.0, 4, False),
}

#: per-cooling figures: (PUE annual low, high), peak/annual PUE ratio, WUE [L/kWh] (low, high),
#: facility capex [USD/MW], fixed O&M [USD/MW/yr], air cooling
COOLINGS: dict[str, tuple[tuple[float, float], float, tuple[float, float], float, float, bool]] = {
    "air_chiller": ((1.30, 1.50), 1.18, (0.0, 0.2), 9.0e6, 1.6e5, True),
    "air_evap": ((1.20, 1.40), 1.15, (1.0, 2.2), 8.5e6, 1.5e5, True),
    "rdhx": ((1.20, 1.35), 1.15, (0.8, 1.8), 10.0e6, 1.7e5, True),
    "dlc_dry": ((1.10, 1.25), 1.12, (0.0, 0.1), 11.5e6, 1.8e5, False),
    "dlc_tower": ((1.08, 1.20), 1.10, (0.8, 1.6), 11.0e6, 1.8e5, False),
    "immersion": ((1.04, 1.12), 1.06, (0.0, 0.05), 13.5e6, 2.0e5, False),
}

#: per-option figures: capacity [MW] (low, high), share of sites that have it, earliest-year
#: offset (low, high) [yr], phase [MW/yr] as a share of capacity, capex [USD] (low, high), kV
OPTIONS: dict[str, tuple[tuple[float, float], float, tuple[int, int], float, tuple[float, float], float]] = {
    "existing": ((30.0, 200.0), 0.5, (0, 2), 1.0, (5e6, 25e6), 138.0),
    "tap": ((150.0, 500.0), 0.8, (2, 4), 0.5, (40e6, 120e6), 230.0),
    "new_substation": ((500.0, 1500.0), 1.0, (4, 7), 0.35, (150e6, 400e6), 500.0),
}

_ISOS = ["PJM", "ERCOT", "MISO", "SPP", "CAISO", "SOUTHEAST", "WEST", "NYISO"]
_STATES = {"PJM": "VA", "ERCOT": "TX", "MISO": "IA", "SPP": "OK", "CAISO": "CA",
           "SOUTHEAST": "GA", "WEST": "AZ", "NYISO": "NY"}


def make_inputs(
    n_sites: int = 6,
    n_years: int = 6,
    *,
    first_year: int = 2026,
    chips: tuple[str, ...] = ("h100_sxm", "b200_hgx", "gb200_nvl72"),
    coolings: tuple[str, ...] = ("air_chiller", "dlc_dry", "immersion"),
    options: tuple[str, ...] = ("existing", "tap", "new_substation"),
    final_gpus: float | None = None,
    target: str = "gpus",
    block_mw: float = 20.0,
    discount_rate: float = 0.07,
    service_life_yr: int = 5,
    seed: int = 0,
    capital: str = "annuity",
) -> xr.Dataset:
    """Return a random inputs Dataset with realistic magnitudes.

    Parameters
    ----------
    n_sites, n_years : int
        Size of the study.
    first_year : int
        First year of the horizon.
    chips, coolings, options : tuple of str
        Ids (keys of :data:`CHIPS`, :data:`COOLINGS`, :data:`OPTIONS`).
    final_gpus : float, optional
        GPUs that must be online in the last year [GPU]; default 1,500 per candidate site,
        so that a few per cent of the candidates end up opened.
    target : {"gpus", "pflops"}
        Fleet target as GPUs per chip (the fleet split evenly among the chips on sale), or
        as dense PFLOPS from any chip.
    block_mw : float
        IT build block [MW].
    discount_rate : float
        Real discount rate [1/yr].
    service_life_yr : int
        Service life of every chip [yr].
    seed : int
        Seed of the random draws; the same arguments give the identical Dataset.
    capital : {"annuity", "salvage", "none"}
        How capital is charged inside the horizon (:mod:`dcplan.economics`).
    """
    rng = np.random.default_rng(seed)
    years = np.arange(first_year, first_year + n_years)
    n_c, n_k, n_o = len(chips), len(coolings), len(options)
    site_ids = [f"s{i:04d}" for i in range(n_sites)]
    iso = np.array([_ISOS[i] for i in rng.integers(0, len(_ISOS), n_sites)], dtype=object)
    state = np.array([_STATES[x] for x in iso], dtype=object)
    lat = rng.uniform(26.0, 47.0, n_sites)
    lon = rng.uniform(-120.0, -75.0, n_sites)

    chip_tab = np.array([CHIPS[c][:4] for c in chips], dtype=float)
    it_kw, pflops, gpu_capex, first_off = chip_tab.T
    chip_air = np.array([CHIPS[c][4] for c in chips])
    cool_air = np.array([COOLINGS[k][5] for k in coolings])
    # air-coolable chips go anywhere; liquid-only racks need liquid cooling
    compatible = chip_air[:, None] | ~cool_air[None, :]
    load_mean = np.full(n_c, 0.75)
    load_peak = np.full(n_c, 0.95)

    pue_lo = np.array([COOLINGS[k][0][0] for k in coolings])
    pue_hi = np.array([COOLINGS[k][0][1] for k in coolings])
    climate = rng.uniform(0.0, 1.0, (n_sites, 1))  # 0 = cool and dry, 1 = hot
    pue = pue_lo + (pue_hi - pue_lo) * (0.7 * climate + 0.3 * rng.uniform(0, 1, (n_sites, n_k)))
    pue_peak = pue * np.array([COOLINGS[k][1] for k in coolings]) * (1.0 + 0.05 * climate)
    wue_lo = np.array([COOLINGS[k][2][0] for k in coolings])
    wue_hi = np.array([COOLINGS[k][2][1] for k in coolings])
    wue = wue_lo + (wue_hi - wue_lo) * climate

    it_mean_kw = it_kw * load_mean  # (chip,)
    facility_mwh = it_mean_kw[None, :, None] * pue[:, None, :] * 8.760  # kW * 8760 h / 1000
    facility_peak_kw = (it_kw * load_peak)[None, :, None] * pue_peak[:, None, :]
    water_m3 = it_mean_kw[None, :, None] * 8.760 * wue[:, None, :] * np.ones((1, n_c, 1))

    price = rng.uniform(40.0, 110.0, n_sites)
    co2 = rng.uniform(0.1, 0.7, n_sites)
    water_price = rng.uniform(0.5, 5.0, n_sites)
    land = rng.choice([100.0, 200.0, 300.0, 500.0, 1000.0], n_sites)
    water_cap = np.where(rng.uniform(0, 1, n_sites) < 0.4, rng.uniform(0.3e6, 3e6, n_sites), np.inf)
    permit = first_year + rng.integers(0, 3, n_sites)
    max_build = rng.choice([100.0, 200.0, 300.0, 400.0], n_sites)
    site_open = rng.uniform(20e6, 150e6, n_sites)
    region = rng.uniform(0.85, 1.25, (n_sites, 1))
    fac_capex = region * np.array([COOLINGS[k][3] for k in coolings])[None, :]
    fixed_om = np.array([COOLINGS[k][4] for k in coolings])

    ic_cap = np.zeros((n_sites, n_o))
    ic_first = np.zeros((n_sites, n_o), dtype=int)
    ic_phase = np.zeros((n_sites, n_o))
    ic_capex = np.zeros((n_sites, n_o))
    ic_kv = np.zeros((n_sites, n_o))
    for j, o in enumerate(options):
        (c_lo, c_hi), share, (e_lo, e_hi), phase, (x_lo, x_hi), kv = OPTIONS[o]
        has = rng.uniform(0, 1, n_sites) < share
        ic_cap[:, j] = np.where(has, np.round(rng.uniform(c_lo, c_hi, n_sites), -1), 0.0)
        ic_first[:, j] = first_year + rng.integers(e_lo, e_hi + 1, n_sites)
        ic_phase[:, j] = np.maximum(np.round(ic_cap[:, j] * phase, -1), 10.0)
        ic_capex[:, j] = rng.uniform(x_lo, x_hi, n_sites)
        ic_kv[:, j] = kv

    first_chip_year = first_year + first_off.astype(int)
    final = float(final_gpus if final_gpus is not None else 1500.0 * n_sites)
    # no target in the first two years (nothing is energised yet), then a linear ramp
    ramp = np.clip((years - first_year - 1) / max(n_years - 2, 1), 0.0, 1.0)
    fleet = final * ramp
    on_sale = first_chip_year[:, None] <= years[None, :]
    target_gpus = np.zeros((n_c, n_years))
    target_pflops = np.zeros(n_years)
    if target == "gpus":
        target_gpus = np.round(fleet[None, :] * on_sale / np.maximum(on_sale.sum(0), 1), -2)
    elif target == "pflops":
        target_pflops = np.round(fleet * pflops.mean(), 0)
    else:
        msg = f"target must be 'gpus' or 'pflops', got {target!r}"
        raise ValueError(msg)
    discount = 1.0 / (1.0 + discount_rate) ** (years - first_year)
    # liquid-cooled halls take a year longer to build than air halls in these draws [yr]
    construction = np.array([0.0 if COOLINGS[k][5] else 1.0 for k in coolings])
    it_earliest = permit[:, None] + np.ceil(construction[None, :] - 1e-9).astype(int)
    life = {"facility": 20.0, "site": 30.0, "interconnect": 30.0}
    factor = {k: capital_factor(years, first_year, discount_rate, v, capital) for k, v in life.items()}
    gpu_factor = capital_factor(years, first_year, discount_rate, np.full(n_c, float(service_life_yr)), capital)

    def da(values, dims, units, long_name):
        return (dims, np.asarray(values), {"units": units, "long_name": long_name})

    S, C, K, Y, OPT = "site", "chip", "cooling", "year", "option"
    ds = xr.Dataset(
        {
            "it_kw_per_gpu": da(it_kw, (C,), "kW", "IT power per GPU"),
            "rack_kw": da(it_kw * 72, (C,), "kW", "rack power"),
            "gpus_per_rack": da(np.full(n_c, 72.0), (C,), "1", "GPUs per rack"),
            "dense_pflops": da(pflops, (C,), "PFLOPS", "dense BF16 per GPU"),
            "gpu_capex_usd": da(gpu_capex, (C,), "USD", "price per GPU"),
            "service_life_yr": da(np.full(n_c, service_life_yr), (C,), "year", "service life"),
            "first_year": da(first_chip_year, (C,), "1", "first year available"),
            "compatible": da(compatible, (C, K), "1", "chip and cooling compatible"),
            "load_mean_fraction": da(load_mean, (C,), "1", "mean IT load fraction"),
            "load_peak_fraction": da(load_peak, (C,), "1", "peak IT load fraction"),
            "pue_annual": da(pue, (S, K), "1", "annual PUE"),
            "pue_peak": da(pue_peak, (S, K), "1", "design-hour PUE"),
            "wue_l_per_kwh": da(wue, (S, K), "L/kWh", "site WUE"),
            "facility_mwh_per_gpu_year": da(facility_mwh, (S, C, K), "MWh", "facility energy per GPU-year"),
            "facility_peak_kw_per_gpu": da(facility_peak_kw, (S, C, K), "kW", "facility peak per GPU"),
            "water_m3_per_gpu_year": da(water_m3, (S, C, K), "m**3", "on-site water per GPU-year"),
            "co2_t_per_mwh": da(co2, (S,), "t/MWh", "grid CO2 intensity"),
            "electricity_usd_per_mwh": da(price, (S,), "USD/MWh", "electricity price"),
            "water_usd_per_m3": da(water_price, (S,), "USD/m**3", "water price"),
            "land_mw": da(land, (S,), "MW", "IT MW the land can host"),
            "water_cap_m3_per_yr": da(water_cap, (S,), "m**3", "annual water cap"),
            "permit_year": da(permit, (S,), "1", "first year permits allow IT"),
            "construction_yr": da(construction, (K,), "year", "construction lead"),
            "it_earliest_year": da(it_earliest, (S, K), "1", "first year IT may be online"),
            "capital_factor_gpu": da(gpu_factor, (C, Y), "1", "NPV per USD of GPUs"),
            "capital_factor_facility": da(factor["facility"], (Y,), "1", "NPV per USD of facility"),
            "capital_factor_site": da(factor["site"], (Y,), "1", "NPV per USD of site opening"),
            "capital_factor_interconnect": da(factor["interconnect"], (Y,), "1", "NPV per USD of interconnect"),
            "max_build_mw_per_yr": da(max_build, (S,), "MW", "IT MW commissioned per year"),
            "site_open_usd": da(site_open, (S,), "USD", "fixed cost of opening the site"),
            "facility_capex_usd_per_mw": da(fac_capex, (S, K), "USD/MW", "facility capex per IT MW"),
            "fixed_om_usd_per_mw_yr": da(fixed_om, (K,), "USD/MW/year", "fixed O&M"),
            "ic_capacity_mw": da(ic_cap, (S, OPT), "MW", "interconnect option capacity"),
            "ic_earliest_year": da(ic_first, (S, OPT), "1", "first year the option energises"),
            "ic_phase_mw_per_yr": da(ic_phase, (S, OPT), "MW/year", "MW added per year"),
            "ic_capex_usd": da(ic_capex, (S, OPT), "USD", "fixed cost of the option"),
            "ic_kv": da(ic_kv, (S, OPT), "kV", "voltage class"),
            "target_gpus": da(target_gpus, (C, Y), "GPU", "GPUs that must be online"),
            "target_pflops": da(target_pflops, (Y,), "PFLOPS", "dense PFLOPS that must be online"),
            "target_chip_allowed": da(np.ones(n_c, dtype=bool), (C,), "1", "chips counting toward PFLOPS"),
            "discount_factor": da(discount, (Y,), "1", "discount factor"),
            "capex_budget_usd": da(np.full(n_years, np.inf), (Y,), "USD", "annual capital budget"),
            "carbon_cap_t": da(np.full(n_years, np.inf), (Y,), "t", "annual carbon cap"),
            "carbon_price_usd_per_t": da(np.full(n_years, 50.0), (Y,), "USD/t", "carbon price"),
        },
        coords={
            S: site_ids,
            C: list(chips),
            K: list(coolings),
            Y: years,
            OPT: list(options),
            "iso": (S, iso.astype(str)),
            "state": (S, state.astype(str)),
            "lat": (S, lat),
            "lon": (S, lon),
        },
        attrs={
            "block_mw": float(block_mw),
            "min_sites": 0,
            "max_sites": int(n_sites),
            "max_iso_share": 1.0,
            "shortfall_penalty_usd_per_gpu": 0.0,
            "study_name": f"synthetic-{n_sites}x{n_years}-seed{seed}",
            "first_year": int(first_year),
            "last_year": int(years[-1]),
            "discount_rate": float(discount_rate),
            "capital_cost_method": capital,
        },
    )
    return ds
