"""Every variable and constraint of the siting model: name, dims, unit, description.

One source for the formulation docs, the units stamped on the Plan and the tests that check
every family is built and audited. Model units are scaled for numerical stability: GPUs in
thousands, money in millions of USD (see docs/formulation.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One model component."""

    name: str
    dims: tuple[str, ...]
    unit: str
    description: str
    family: str
    builder: str


VARIABLES: dict[str, Entry] = {
    e.name: e
    for e in [
        Entry(
            "site_active",
            ("site", "year"),
            "1",
            "site is open by that year: its opening cost is paid (binary, cumulative)",
            "site_open",
            "add_variables",
        ),
        Entry(
            "it_blocks",
            ("site", "cooling", "year"),
            "block",
            "installed IT capacity in blocks of block_mw (integer, cumulative)",
            "it_capacity",
            "add_variables",
        ),
        Entry(
            "ic_active",
            ("site", "option", "year"),
            "1",
            "interconnect option built by that year: its cost is paid (binary, cumulative)",
            "ic_choice",
            "add_variables",
        ),
        Entry(
            "ic_mw",
            ("site", "option", "year"),
            "MW",
            "interconnect MW energised (cumulative)",
            "ic_phase",
            "add_variables",
        ),
        Entry(
            "gpus",
            ("site", "chip", "cooling", "year"),
            "kGPU",
            "GPUs online",
            "gpu_stock",
            "add_variables",
        ),
        Entry(
            "gpus_new",
            ("site", "chip", "cooling", "year"),
            "kGPU",
            "GPUs deployed (vintage)",
            "gpu_stock",
            "add_variables",
        ),
        Entry(
            "shortfall_gpus",
            ("chip", "year"),
            "kGPU",
            "GPUs short of target_gpus (soft target only)",
            "target",
            "add_variables",
        ),
        Entry(
            "shortfall_pflops",
            ("year",),
            "kPFLOPS",
            "PFLOPS short of target_pflops (soft target only)",
            "target",
            "add_variables",
        ),
        Entry(
            "it_total_mw",
            ("year",),
            "MW",
            "fleet IT capacity (for the ISO share)",
            "iso_share",
            "add_variables",
        ),
    ]
}

CONSTRAINTS: dict[str, Entry] = {
    e.name: e
    for e in [
        Entry(
            "gpu_stock_balance",
            ("site", "chip", "cooling", "year"),
            "kGPU",
            "online = online last year + deployed - retired after service_life_yr",
            "gpu_stock",
            "add_gpu_stock",
        ),
        Entry(
            "target_gpus_min",
            ("chip", "year"),
            "kGPU",
            "GPUs of each chip online >= target_gpus",
            "target",
            "add_target",
        ),
        Entry(
            "target_pflops_min",
            ("year",),
            "kPFLOPS",
            "dense PFLOPS of allowed chips online >= target_pflops",
            "target",
            "add_target",
        ),
        Entry(
            "it_capacity_max",
            ("site", "cooling", "year"),
            "MW",
            "GPU IT load <= installed IT capacity of that cooling",
            "it_capacity",
            "add_it_capacity",
        ),
        Entry(
            "it_fleet_min",
            ("cooling_set", "year"),
            "block",
            "blocks of a set of coolings >= the IT its liquid- or air-bound target needs, "
            "rounded up (valid inequality)",
            "fleet_rounding",
            "add_fleet_rounding",
        ),
        Entry(
            "ic_block_rounding",
            ("site", "option", "year"),
            "MW",
            "IT load behind an interconnect <= its share of whole blocks (valid inequality)",
            "ic_block_rounding",
            "add_ic_block_rounding",
        ),
        Entry(
            "it_blocks_monotone",
            ("site", "cooling", "year"),
            "block",
            "installed IT never decreases",
            "it_monotone",
            "add_it_capacity",
        ),
        Entry(
            "build_rate_max",
            ("site", "year"),
            "MW",
            "IT MW commissioned per year <= max_build_mw_per_yr",
            "build_rate",
            "add_build_rate",
        ),
        Entry("land_max", ("site", "year"), "MW", "installed IT <= land_mw", "land", "add_land"),
        Entry(
            "site_open_capacity",
            ("site", "year"),
            "MW",
            "IT capacity only at sites open by that year",
            "site_open",
            "add_site_open",
        ),
        Entry(
            "site_active_monotone",
            ("site", "year"),
            "1",
            "an opened site stays open",
            "site_open",
            "add_site_open",
        ),
        Entry("sites_min", (), "site", "sites opened >= min_sites", "site_count", "add_site_count"),
        Entry("sites_max", (), "site", "sites opened <= max_sites", "site_count", "add_site_count"),
        Entry(
            "facility_peak_max",
            ("site", "year"),
            "MW",
            "facility peak <= interconnect MW energised",
            "facility_peak",
            "add_facility_peak",
        ),
        Entry(
            "ic_phase_max",
            ("site", "option", "year"),
            "MW",
            "interconnect MW added per year <= ic_phase_mw_per_yr",
            "ic_phase",
            "add_interconnect",
        ),
        Entry(
            "ic_mw_monotone",
            ("site", "option", "year"),
            "MW",
            "energised MW never decrease",
            "ic_monotone",
            "add_interconnect",
        ),
        Entry(
            "ic_capacity_max",
            ("site", "option", "year"),
            "MW",
            "energised MW <= ic_capacity_mw of an option built by that year",
            "ic_capacity",
            "add_interconnect",
        ),
        Entry(
            "ic_active_monotone",
            ("site", "option", "year"),
            "1",
            "a built interconnect stays built",
            "ic_choice",
            "add_interconnect",
        ),
        Entry(
            "ic_choice_max",
            ("site",),
            "1",
            "at most one option per site, only at opened sites",
            "ic_choice",
            "add_interconnect",
        ),
        Entry(
            "water_cap_max",
            ("site", "year"),
            "1000 m**3",
            "on-site water <= water_cap_m3_per_yr",
            "water_cap",
            "add_water_cap",
        ),
        Entry(
            "capex_budget_max",
            ("year",),
            "MUSD",
            "capital spent in the year <= capex_budget_usd",
            "capex_budget",
            "add_capex_budget",
        ),
        Entry(
            "carbon_cap_max",
            ("year",),
            "kt",
            "fleet CO2 <= carbon_cap_t",
            "carbon_cap",
            "add_carbon_cap",
        ),
        Entry(
            "it_total_def",
            ("year",),
            "MW",
            "fleet IT capacity = sum of site IT capacity",
            "iso_share",
            "add_iso_share",
        ),
        Entry(
            "iso_share_max",
            ("iso", "year"),
            "MW",
            "IT capacity in one ISO <= max_iso_share x fleet IT",
            "iso_share",
            "add_iso_share",
        ),
        # elastic (diagnosis) model only: the structural zeros as rows
        Entry(
            "it_before_permit",
            ("site", "cooling", "year"),
            "MW",
            "no IT before permit + construction (diagnosis only)",
            "permit",
            "add_structural_rows",
        ),
        Entry(
            "ic_before_earliest",
            ("site", "option", "year"),
            "MW",
            "no interconnect MW before its earliest year (diagnosis only)",
            "ic_lead",
            "add_structural_rows",
        ),
        Entry(
            "gpus_before_sale",
            ("chip", "year"),
            "kGPU",
            "no GPU before its chip's first year (diagnosis only)",
            "chip_first_year",
            "add_structural_rows",
        ),
    ]
}

# time-to-power levers on the power side (dcplan.optimize.levers_power): built only when the
# study's ``power_levers:`` section turns the lever on
_SOY = ("site", "option", "year")
_SY = ("site", "year")
VARIABLES.update({
    e.name: e
    for e in [
        Entry("flex_active", _SOY, "1", "option's equipment bought early for flexible service "
              "(binary, cumulative until firm service)", "flex_interconnect",
              "add_flexible_interconnect"),
        Entry("flex_mw", _SOY, "MW", "flexible (curtailable) MW energised", "flex_interconnect",
              "add_flexible_interconnect"),
        Entry("smoothing_mw", _SY, "MW", "battery MW installed to smooth training swings "
              "(cumulative)", "power_smoothing", "add_power_smoothing"),
    ]
})
CONSTRAINTS.update({
    e.name: e
    for e in [
        Entry("flex_mw_max", _SOY, "MW", "flexible MW <= option capacity x flex_active before "
              "firm service; flexible + firm MW <= capacity after", "flex_interconnect",
              "add_flexible_interconnect"),
        Entry("flex_active_monotone", _SOY, "1", "flexible service, once bought, stays until "
              "firm", "flex_interconnect", "add_flexible_interconnect"),
        Entry("flex_to_firm", _SOY, "1", "an option served flexibly is built firm by its "
              "earliest year", "flex_interconnect", "add_flexible_interconnect"),
        Entry("flex_choice_max", _SY, "1", "flexible service on at most one option per site",
              "flex_interconnect", "add_flexible_interconnect"),
        Entry("flex_headroom_max", ("year",), "MW", "fleet flexible MW <= its share of the "
              "curtailment-enabled headroom", "flex_headroom", "add_flexible_interconnect"),
        Entry("bridge_gen_pregrid", _SY, "MW", "no bridge generation (all technologies) once the site's grid "
              "option is built", "bridge_power", "add_bridge_power"),
        Entry("bridge_gen_load", _SY, "MW", "bridge generation <= the site's facility peak",
              "bridge_power", "add_bridge_power"),
        Entry("gas_turbine_supply_max", ("year",), "MW", "turbine MW delivered to the fleet "
              "per year <= supply cap", "gas_turbine_supply", "add_bridge_power"),
        Entry("smoothing_min", _SY, "MW", "battery MW >= training swing - ISO allowance",
              "power_smoothing", "add_power_smoothing"),
        Entry("smoothing_mw_monotone", _SY, "MW", "smoothing batteries stay", "power_smoothing",
              "add_power_smoothing"),
    ]
})
# bridge power: one set of columns and rows per technology (dcplan.physics.onsite.BRIDGE_TECHS)
_BRIDGE_TECHS = ("gas_turbine", "gas_engine", "fuel_cell", "solar_storage")
for _t in _BRIDGE_TECHS:
    VARIABLES[f"bridge_mw_{_t}"] = Entry(f"bridge_mw_{_t}", _SY, "MW", f"bridge {_t} MW "
                                         "installed (cumulative)", "bridge_power",
                                         "add_bridge_power")
    VARIABLES[f"bridge_gen_mw_{_t}"] = Entry(f"bridge_gen_mw_{_t}", _SY, "MW", "facility peak "
                                             f"carried by bridge {_t}", "bridge_power",
                                             "add_bridge_power")
    CONSTRAINTS[f"bridge_gen_max_{_t}"] = Entry(f"bridge_gen_max_{_t}", _SY, "MW", "bridge "
                                                f"generation <= availability x {_t} MW installed",
                                                "bridge_power", "add_bridge_power")
    CONSTRAINTS[f"bridge_mw_monotone_{_t}"] = Entry(f"bridge_mw_monotone_{_t}", _SY, "MW",
                                                    f"bridge {_t} MW stay (as backup)",
                                                    "bridge_power", "add_bridge_power")
#: lever families: each built only when its study section is given (tests/test_levers_power.py)
LEVER_FAMILIES: tuple[str, ...] = ("flex_interconnect", "flex_headroom", "bridge_power",
                                   "gas_turbine_supply", "power_smoothing")
# fleet levers of time to power (dcplan.optimize.levers_fleet): built only when the study
# turns the lever on
VARIABLES.update({e.name: e for e in [
    Entry("cluster_home", ("site", "chip"), "1", "the site holding the chip's training cluster "
          "(binary, one per chip)", "training_cluster", "add_training_cluster"),
    Entry("cluster_home_gpus", ("site", "chip", "year"), "kGPU", "training-cluster GPUs at "
          "its home site", "training_cluster", "add_training_cluster"),
    Entry("cluster_remote_gpus", ("chip", "year"), "kGPU", "training-cluster GPUs at other "
          "sites, paying inter-site bandwidth", "training_cluster", "add_training_cluster"),
    Entry("gpus_training", ("year",), "kGPU", "GPUs serving the delivered training target",
          "delivered_compute", "add_delivered_compute"),
    Entry("gpus_inference", ("year",), "kGPU", "GPUs serving the delivered inference target",
          "delivered_compute", "add_delivered_compute"),
]})
CONSTRAINTS.update({e.name: e for e in [
    Entry("lpt_supply_max", ("year",), "1", "large power transformers of the options built "
          "<= what the fleet's order cap delivers by the year", "lpt_supply", "add_lpt_supply"),
    Entry("chip_delivery_max", ("chip", "year"), "kGPU", "GPUs of a chip deployed in the year "
          "<= chip_delivery_max_gpus", "chip_delivery", "add_chip_delivery"),
    Entry("cluster_home_one", ("chip",), "1", "one home site per training cluster",
          "training_cluster", "add_training_cluster"),
    Entry("cluster_home_max", ("site", "chip", "year"), "kGPU", "cluster GPUs only at its home "
          "site", "training_cluster", "add_training_cluster"),
    Entry("cluster_home_gpus_max", ("site", "chip", "year"), "kGPU", "cluster GPUs at home <= "
          "the chip's GPUs online there", "training_cluster", "add_training_cluster"),
    Entry("cluster_size_min", ("chip", "year"), "kGPU", "cluster GPUs at home + elsewhere >= "
          "the cluster size", "training_cluster", "add_training_cluster"),
    Entry("cluster_remote_max", ("chip", "year"), "kGPU", "cluster GPUs elsewhere exist in the "
          "fleet", "training_cluster", "add_training_cluster"),
    Entry("delivered_training_min", ("workload", "year"), "M GPU*h", "training GPU-hours "
          "delivered >= the target", "delivered_compute", "add_delivered_compute"),
    Entry("delivered_inference_min", ("workload", "year"), "M GPU*h", "inference GPU-hours "
          "delivered >= the target", "delivered_compute", "add_delivered_compute"),
    Entry("delivered_split_max", ("year",), "kGPU", "GPUs given to the workloads <= GPUs "
          "online", "delivered_compute", "add_delivered_compute"),
]})
#: families of the fleet levers (tests/test_levers_fleet.py shows each binds)
FLEET_LEVER_FAMILIES: tuple[str, ...] = (
    "lpt_supply", "chip_delivery", "training_cluster", "delivered_compute")

#: valid inequalities: they never change the integer optimum, only tighten the LP relaxation
TIGHTENINGS: tuple[str, ...] = ("fleet_rounding", "ic_block_rounding")

#: families enforced by variable bounds or sparse index sets, not rows
BOUND_FAMILIES: dict[str, str] = {
    "compatibility": "GPUs only on compatible (chip, cooling) pairs (sparse index set of gpus)",
    "chip_first_year": "no GPU of a chip before its first_year (sparse index set of gpus)",
    "permit": "no IT capacity before it_earliest_year = permit + construction (sparse "
    "index set of it_blocks)",
    "ic_lead": "no interconnect MW before ic_earliest_year (sparse index set of ic_mw)",
}

#: every family name that ``build_model(skip=...)`` accepts
FAMILIES: tuple[str, ...] = tuple(
    dict.fromkeys([e.family for e in CONSTRAINTS.values()] + list(BOUND_FAMILIES))
)

#: plain-words meaning of a family's dual (used by shadow_prices)
MEANING: dict[str, str] = {
    "target": "cost of one more thousand GPUs (or PFLOPS) online in that year [MUSD, NPV]",
    "it_capacity": "value of one more IT MW installed at a site and cooling in that year "
    "[MUSD, NPV]",
    "build_rate": "value of commissioning one more IT MW per year at a site [MUSD, NPV]",
    "land": "value of one more IT MW of land at a site [MUSD, NPV]",
    "site_open": "value of the site-opening link (bigger M) [MUSD, NPV]",
    "site_count": "value of allowing one more / one fewer opened site [MUSD, NPV]",
    "facility_peak": "value of one more MW energised at a site in that year [MUSD, NPV]",
    "ic_phase": "value of energising one more MW per year on an option [MUSD, NPV]",
    "ic_capacity": "value of one more MW of interconnect capacity [MUSD, NPV]",
    "ic_choice": "value of a second interconnect option at a site [MUSD, NPV]",
    "water_cap": "value of 1,000 m3 more water per year at a site [MUSD, NPV]",
    "capex_budget": "value of 1 MUSD more capital budget in that year [MUSD, NPV]",
    "carbon_cap": "value of 1 kt more CO2 allowed in that year [MUSD, NPV]",
    "iso_share": "value of loosening the ISO concentration limit by 1 MW [MUSD, NPV]",
    "gpu_stock": "marginal value of one thousand GPUs online (accounting identity) [MUSD, NPV]",
    "fleet_rounding": "value of one block less of fleet-wide rounding (a valid inequality) "
    "[MUSD, NPV]",
    "ic_block_rounding": "value of one MW less of IT-block rounding behind an interconnect "
    "(a valid inequality) [MUSD, NPV]",
    "it_monotone": "value of being allowed to decommission 1 block [MUSD, NPV]",
    "ic_monotone": "value of being allowed to de-energise 1 MW [MUSD, NPV]",
    "flex_interconnect": "value of one more MW of flexible interconnection [MUSD, NPV]",
    "flex_headroom": "value of 1 MW more curtailment-enabled headroom for the fleet [MUSD, NPV]",
    "bridge_power": "value of 1 MW more bridge generation at a site [MUSD, NPV]",
    "gas_turbine_supply": "value of 1 MW more gas turbine deliveries in that year [MUSD, NPV]",
    "power_smoothing": "value of 1 MW more swing the ISO accepts at a site [MUSD, NPV]",
    "lpt_supply": "value of one more large power transformer in service by that year "
    "[MUSD, NPV]",
    "chip_delivery": "value of one thousand more GPUs delivered in that year [MUSD, NPV]",
    "training_cluster": "cost of one thousand more GPUs in the training cluster [MUSD, NPV]",
    "delivered_compute": "cost of one million more GPU-hours delivered in that year "
    "[MUSD, NPV]",
}
