"""The study schema: what a dcplan study file may say, validated at the edge.

A study is YAML (or a dict) validated by frozen pydantic v2 models that reject unknown
keys. Quantity fields accept a bare number in the field's canonical unit (named by the
field's suffix, see :mod:`dcplan.units`) or a string with units (``"132 kW"``,
``"36 month"``, ``"7 %"``). Every problem in a file is reported at once, as a
:class:`~dcplan.errors.SpecError` whose records name the file, the field path, the bad
value and how to fix it.

>>> from dcplan.spec import load_study
>>> study = load_study("models/training_campus.yaml")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from dcplan.errors import Problem, SpecError
from dcplan.units import to_canonical

COOLING_IDS = ("air_chiller", "air_evap", "rdhx", "dlc_dry", "dlc_tower", "immersion")
CoolingId = Literal["air_chiller", "air_evap", "rdhx", "dlc_dry", "dlc_tower", "immersion"]
WaterStress = Literal["low", "low_medium", "medium_high", "high", "extremely_high", "arid"]
Redundancy = Literal["N", "N+1", "2N", "2(N+1)"]


# --------------------------------------------------------------------------- quantities
#: Largest magnitude a study field may hold, by canonical unit: sanity bounds orders of
#: magnitude beyond any real project, there to catch typos and hostile files (1e308 MW, a
#: trillion-dollar site), not to judge plausibility. 1e6 MW = 1 TW is about the whole US
#: generating capacity (EIA: ~1.3 TW in 2024); 1e13 USD is about half of US GDP.
MAX_MAGNITUDE: dict[str, float] = {
    "W": 1e5, "kW": 1e5, "MW": 1e6, "kV": 2000.0, "yr": 200.0, "h": 1e6, "s": 1e9,
    "week": 1e4, "km": 2.1e4, "degC": 100.0, "USD": 1e13, "USD/GPU": 1e8, "USD/MW": 1e11,
    "USD/MW/yr": 1e10, "USD/MWh": 1e5, "USD/m3": 1e5, "USD/t": 1e5, "t/MWh": 10.0, "t": 1e12,
    "m3/yr": 1e12, "L/kWh": 1e3, "TFLOPS": 1e7, "PFLOPS": 1e12, "GPU": 1e9, "1": 1e6,
}


def _quantity(unit: str):
    limit = MAX_MAGNITUDE.get(unit, 1e15)

    def convert(value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        number = to_canonical(value, unit, field=info.field_name or "value")
        if not math.isfinite(number):
            raise ValueError(f"must be a finite number, got {number}; to set no limit, "
                             "leave the field out or write null where the field allows it")
        if abs(number) > limit:
            raise ValueError(f"{number:.4g} {unit} is beyond any real project (the limit is "
                             f"{limit:g} {unit}); check the number and its unit")
        return number

    # the schema shows what a study file may hold: a number in the canonical unit or a
    # quantity string such as "7 %" or "40 MW" (converted by to_canonical)
    return BeforeValidator(convert, json_schema_input_type=float | str)


def _nonneg(value: float) -> float:
    if value < 0:
        raise ValueError(f"must be >= 0, got {value:g}")
    return value


def _positive(value: float) -> float:
    if not value > 0:
        raise ValueError(f"must be > 0, got {value:g}")
    return value


def _fraction(value: float) -> float:
    if not 0 <= value <= 1:
        raise ValueError(f"must be a fraction between 0 and 1 (or a percentage), got {value:g}")
    return value


KW = Annotated[float, _quantity("kW"), AfterValidator(_positive)]
KWNonNeg = Annotated[float, _quantity("kW"), AfterValidator(_nonneg)]
W = Annotated[float, _quantity("W"), AfterValidator(_positive)]
MW = Annotated[float, _quantity("MW"), AfterValidator(_nonneg)]
MWPos = Annotated[float, _quantity("MW"), AfterValidator(_positive)]
KV = Annotated[float, _quantity("kV"), AfterValidator(_positive)]
Years = Annotated[float, _quantity("yr"), AfterValidator(_nonneg)]
USD = Annotated[float, _quantity("USD"), AfterValidator(_nonneg)]
USDPerGPU = Annotated[float, _quantity("USD/GPU"), AfterValidator(_nonneg)]
USDPerMW = Annotated[float, _quantity("USD/MW"), AfterValidator(_nonneg)]
USDPerMWYr = Annotated[float, _quantity("USD/MW/yr"), AfterValidator(_nonneg)]
USDPerMWh = Annotated[float, _quantity("USD/MWh"), AfterValidator(_nonneg)]
USDPerM3 = Annotated[float, _quantity("USD/m3"), AfterValidator(_nonneg)]
USDPerT = Annotated[float, _quantity("USD/t"), AfterValidator(_nonneg)]
TPerMWh = Annotated[float, _quantity("t/MWh"), AfterValidator(_nonneg)]
Tonnes = Annotated[float, _quantity("t"), AfterValidator(_nonneg)]
M3PerYr = Annotated[float, _quantity("m3/yr"), AfterValidator(_nonneg)]
LPerKWh = Annotated[float, _quantity("L/kWh"), AfterValidator(_nonneg)]
TFLOPS = Annotated[float, _quantity("TFLOPS"), AfterValidator(_nonneg)]
PFLOPS = Annotated[float, _quantity("PFLOPS"), AfterValidator(_nonneg)]
GPUCount = Annotated[float, _quantity("GPU"), AfterValidator(_nonneg)]
Fraction = Annotated[float, _quantity("1"), AfterValidator(_fraction)]
DegC = Annotated[float, _quantity("degC")]
Km = Annotated[float, _quantity("km"), AfterValidator(_nonneg)]
Year = Annotated[int, Field(ge=1990, le=2100)]


def _repeated(items) -> list:
    """The items that occur more than once, sorted."""
    items = list(items)
    return sorted({item for item in items if items.count(item) > 1})


def _chip_id(value: str, info: ValidationInfo) -> str:
    known = (info.context or {}).get("chip_ids")
    if known is not None and value not in known:
        raise ValueError(
            f"unknown chip {value!r}; known chips: {', '.join(sorted(known))} "
            "(or define it under chips.custom)"
        )
    return value


ChipId = Annotated[str, AfterValidator(_chip_id)]


class Strict(BaseModel):
    """Base of every schema model: frozen, unknown keys rejected, docs from field descriptions."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True,
                              allow_inf_nan=False)


# --------------------------------------------------------------------------- sections
class Horizon(Strict):
    """The planning years and how future money is discounted."""

    first_year: Year = Field(description="first planning year (capacity may come online from it)")
    last_year: Year = Field(description="last planning year, inclusive")
    discount_rate: Fraction = Field(0.07, description="real discount rate per year (e.g. '7 %')")

    @model_validator(mode="after")
    def _ordered(self):
        if self.last_year < self.first_year:
            raise ValueError(
                f"last_year {self.last_year} is before first_year {self.first_year}; "
                "swap them or extend the horizon"
            )
        if self.last_year - self.first_year > 40:
            raise ValueError("the horizon spans more than 40 years; shorten it")
        return self

    @property
    def years(self) -> list[int]:
        return list(range(self.first_year, self.last_year + 1))


class GpuTarget(Strict):
    """At least ``gpus`` GPUs of ``chip`` online from ``year`` on."""

    year: Year = Field(description="year from which the target holds")
    chip: ChipId = Field(description="chip id (catalog or chips.custom)")
    gpus: GPUCount = Field(description="GPUs online [GPU]")


class ComputeTarget(Strict):
    """At least ``dense_pflops`` of dense BF16 compute online from ``year`` on, from any allowed chip."""

    year: Year = Field(description="year from which the target holds")
    dense_pflops: PFLOPS = Field(description="dense BF16 compute [PFLOPS], e.g. '2 EFLOPS'")
    chips: list[ChipId] | None = Field(None, description="chips that count (default: all in the study)")


class Fleet(Strict):
    """The fleet to deploy. Targets hold from their year on (a step that never falls)."""

    gpus: list[GpuTarget] = Field(default_factory=list)
    compute: list[ComputeTarget] = Field(default_factory=list)
    ramp: Literal["step", "linear"] = Field(
        "step", description="between target years: hold the last target (step) or ramp linearly"
    )
    shortfall_penalty_usd_per_gpu: USDPerGPU | None = Field(
        None, description="if set, targets are soft and each missing GPU-year costs this"
    )

    @model_validator(mode="after")
    def _some_target(self):
        if not self.gpus and not self.compute:
            raise ValueError("no fleet target: add fleet.gpus or fleet.compute entries")
        return self


class TrainingLoad(Strict):
    """Synchronous training workload (fractions of nameplate IT power)."""

    mean: Fraction = Field(0.79, description="mean IT power / nameplate (DGX H100 measured 0.76-0.82)")
    swing_amplitude: Fraction = Field(0.5, description="peak-to-trough synchronous swing / nameplate")
    checkpoint_interval_h: Annotated[float, _quantity("h"), Field(gt=0)] = Field(
        4.0, description="hours between checkpoints"
    )
    checkpoint_dip: Fraction = Field(0.6, description="load drop during a checkpoint / nameplate")


class InferenceLoad(Strict):
    """Inference workload with a diurnal and weekly shape (fractions of nameplate)."""

    mean: Fraction = Field(0.55, description="mean IT power / nameplate")
    peak: Fraction = Field(0.85, description="peak hourly IT power / nameplate")


class Workload(Strict):
    """How the fleet is used; sets mean and peak IT load of every chip."""

    training_share: Fraction = Field(0.7, description="share of GPUs running training")
    training: TrainingLoad = Field(default_factory=TrainingLoad)
    inference: InferenceLoad = Field(default_factory=InferenceLoad)

    @model_validator(mode="after")
    def _peak_above_mean(self):
        if self.inference.peak < self.inference.mean:
            raise ValueError(
                f"inference.peak {self.inference.peak:g} is below inference.mean "
                f"{self.inference.mean:g}; the peak must be at least the mean"
            )
        return self


class ChipFields(Strict):
    """Fields of a chip profile; every field optional so it can serve as an override."""

    name: str | None = Field(None, description="readable name")
    vendor: str | None = Field(None, description="vendor")
    system: str | None = Field(None, description="system / rack layout")
    chip_tdp_w: W | None = Field(None, description="chip maximum power [W]")
    gpus_per_node: Annotated[int, Field(gt=0)] | None = Field(None, description="GPUs per node")
    node_max_kw: KW | None = Field(None, description="node maximum power [kW]")
    gpus_per_rack: Annotated[int, Field(gt=0)] | None = Field(None, description="GPUs per rack")
    rack_kw: KW | None = Field(None, description="rack power at nameplate [kW]")
    air_coolable: bool | None = Field(None, description="the rack can run in an air-cooled hall")
    liquid_heat_fraction: Fraction | None = Field(
        None, description="share of heat captured by liquid in a liquid-cooled hall"
    )
    dense_bf16_tflops: TFLOPS | None = Field(None, description="dense BF16 compute per GPU [TFLOPS]")
    dense_fp8_tflops: TFLOPS | None = Field(None, description="dense FP8 compute per GPU [TFLOPS]")
    memory_gb: Annotated[float, Field(ge=0)] | None = Field(None, description="HBM per GPU [GB]")
    first_year: Year | None = Field(None, description="first year the part can be deployed")
    price_usd_per_gpu: USDPerGPU | None = Field(
        None, description="price per GPU incl. its share of server, network and rack [USD]"
    )
    service_life_yr: Annotated[float, _quantity("yr"), Field(gt=0, le=15)] | None = Field(
        None, description="years a GPU stays in service before it retires"
    )
    scenario: bool | None = Field(None, description="roadmap part (a scenario, not a product)")
    power_smoothing: bool | None = Field(None, description="rack-level power smoothing caps peaks")
    network_kw_per_gpu: KWNonNeg | None = Field(
        None, description="scale-out and storage fabric switches per GPU [kW] (cluster level)")
    storage_kw_per_gpu: KWNonNeg | None = Field(None, description="storage appliances per GPU [kW]")
    mgmt_kw_per_gpu: KWNonNeg | None = Field(
        None, description="CPU management, head and login nodes per GPU [kW]")


class CustomChip(ChipFields):
    """A part that is not in the catalog: every physical field is required."""

    chip_id: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    chip_tdp_w: W
    gpus_per_rack: Annotated[int, Field(gt=0)]
    rack_kw: KW
    air_coolable: bool
    dense_bf16_tflops: TFLOPS
    first_year: Year
    price_usd_per_gpu: USDPerGPU
    service_life_yr: Annotated[float, _quantity("yr"), Field(gt=0, le=15)]


class Chips(Strict):
    """Which accelerators the study may deploy, and changes to their catalog profiles."""

    use: list[ChipId] | None = Field(
        None, description="catalog ids allowed (default: the chips named by the fleet targets)"
    )
    overrides: dict[ChipId, ChipFields] = Field(default_factory=dict)
    custom: list[CustomChip] = Field(default_factory=list)


class CoolingOverride(Strict):
    """Per-technology changes to the cooling table."""

    facility_capex_usd_per_mw: USDPerMW | None = Field(None, description="facility capex per IT MW [USD/MW]")
    fixed_om_usd_per_mw_yr: USDPerMWYr | None = Field(None, description="fixed O&M per IT MW-year")
    max_rack_kw: KW | None = Field(None, description="densest rack the hall design admits [kW]")
    cycles_of_concentration: Annotated[float, Field(gt=1)] | None = Field(
        None, description="cooling-tower cycles of concentration (sets blowdown)"
    )


class Cooling(Strict):
    """Cooling technologies the optimiser may choose from."""

    allowed: list[CoolingId] = Field(default_factory=lambda: list(COOLING_IDS))
    overrides: dict[CoolingId, CoolingOverride] = Field(default_factory=dict)

    @field_validator("allowed")
    @classmethod
    def _nonempty(cls, value):
        if not value:
            raise ValueError("allow at least one cooling technology")
        return value


class Electrical(Strict):
    """The electrical chain from the utility to the rack."""

    redundancy: Redundancy = Field("2N", description="UPS/transformer redundancy scheme")
    ups_mode: Literal["double_conversion", "eco"] = "double_conversion"
    other_fraction: Annotated[float, _quantity("1"), Field(ge=0, le=0.2)] = Field(
        0.015, description="lighting, offices and other loads per unit IT power"
    )


class Grid(Strict):
    """Equipment lead times that set when new interconnects can energise."""

    transformer_lead_weeks: Annotated[float, _quantity("week"), Field(gt=0, le=520)] = Field(
        120.0,
        description="large power transformer lead time (DOE 2024: 80-210 weeks; NEMA 2024 avg 120)",
    )
    switchgear_lead_weeks: Annotated[float, _quantity("week"), Field(gt=0, le=520)] = Field(
        48.0, description="HV switchgear lead time (Cushman & Wakefield 2025: 46-48 weeks)"
    )
    ramp_years_new_substation: Annotated[float, Field(gt=0, le=10)] = Field(
        3.0, description="years from first energisation to full capacity of a new substation"
    )


class SiteCatalogRef(Strict):
    """Candidates taken from the shipped US site catalog, filtered."""

    states: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] | None = Field(
        None, description="2-letter state codes to keep"
    )
    isos: list[str] | None = Field(None, description="ISO/utility regions to keep (e.g. ERCOT, PJM)")
    min_kv: KV | None = Field(None, description="lowest nearby transmission voltage [kV]")
    max_price_usd_per_mwh: USDPerMWh | None = Field(None, description="highest electricity price")
    max_water_stress: WaterStress | None = Field(None, description="worst water-stress class kept")
    site_ids: list[str] | None = Field(None, description="keep exactly these catalog ids")
    limit: Annotated[int, Field(gt=0)] | None = Field(
        None, description="keep N after filtering, dealt round-robin over limit_by groups")
    limit_by: Literal["iso", "state", "first"] = Field(
        "iso", description="how limit keeps the filter's spread: round-robin over ISOs or "
        "states (largest first, file order inside), or the first N rows")


class SiteFields(Strict):
    """Per-site attributes a study may set or override (anything left out is looked up)."""

    name: str | None = Field(None, description="readable name")
    state: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = Field(None, description="2-letter state")
    iso: str | None = Field(None, description="ISO/utility region (sets queue times)")
    electricity_usd_per_mwh: USDPerMWh | None = Field(None, description="electricity price [USD/MWh]")
    co2_t_per_mwh: TPerMWh | None = Field(None, description="grid CO2e intensity [t/MWh]")
    land_mw: MW | None = Field(None, description="IT MW the land can host")
    water_m3_per_yr: M3PerYr | None = Field(None, description="on-site water allowance [m3/yr]")
    water_usd_per_m3: USDPerM3 | None = Field(None, description="water price [USD/m3]")
    water_stress: WaterStress | None = Field(None, description="water-stress class (WRI Aqueduct bands)")
    max_grid_kv: KV | None = Field(None, description="highest transmission voltage nearby [kV]")
    headroom_mw: MW | None = Field(None, description="spare capacity at an existing substation [MW]")
    headroom_year: Year | None = Field(None, description="year that headroom is free")
    permit_lead_time_yr: Years | None = Field(None, description="permitting critical path [yr]")
    queue_study_yr: Years | None = Field(None, description="large-load interconnection study time [yr]")
    weather_file: str | None = Field(None, description="EPW file for this site (relative to the study)")


class InlineSite(SiteFields):
    """A candidate given in the study itself; any US location works."""

    site_id: Annotated[str, Field(min_length=1, max_length=64)]
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


class Sites(Strict):
    """Where the candidates come from; sources are combined, ids must be unique."""

    catalog: SiteCatalogRef | None = Field(None, description="take candidates from the shipped catalog")
    inline: list[InlineSite] = Field(default_factory=list)
    file: str | None = Field(None, description="GeoJSON, GeoPackage or CSV (lat/lon) of candidates")
    overrides: dict[str, SiteFields] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _some_source(self):
        if self.catalog is None and not self.inline and self.file is None:
            raise ValueError("no candidate sites: give sites.catalog, sites.inline or sites.file")
        ids = [s.site_id for s in self.inline]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate inline site ids {dupes}; make each site_id unique")
        return self


YearlyUSD = USD | dict[Year, USD]
YearlyT = Tonnes | dict[Year, Tonnes]
YearlyUSDPerT = USDPerT | dict[Year, USDPerT]


class Weather(Strict):
    """Where hourly weather comes from: real EPW files near a site, else a synthetic year."""

    dir: str | None = Field(
        None, description="folder of EPW files (.epw or .epw.gz, relative to the study); each "
        "site uses the nearest one within max_distance_km, a synthetic year elsewhere"
    )
    max_distance_km: Annotated[float, _quantity("km"), Field(gt=0, le=1000)] = Field(
        50.0, description="farthest an EPW station may be from a site to stand in for it"
    )


LifeYears = Annotated[float, _quantity("yr"), Field(gt=0, le=100)]


class EconomicLife(Strict):
    """Economic lives of the long-lived assets (GPUs use their chip's service_life_yr)."""

    facility_yr: LifeYears = Field(
        20.0, description="data hall and its M&E plant (ASHRAE median service lives, 20-25 yr)"
    )
    site_yr: LifeYears = Field(30.0, description="land, civil works, shell (NREL ATB 30-yr recovery)")
    interconnect_yr: LifeYears = Field(
        30.0, description="substation or tap (NREL ATB 30-yr capital recovery period)"
    )


class Costs(Strict):
    """Cost assumptions (constant dollars)."""

    site_open_usd: USD = Field(
        25e6, description="fixed cost of opening a site: land, roads, shell share, fees"
    )
    carbon_price_usd_per_t: YearlyUSDPerT = Field(0.0, description="carbon price, flat or by year")
    facility_capex_multiplier: Annotated[float, Field(gt=0, le=5)] = 1.0
    capital: Literal["annuity", "salvage", "none"] = Field(
        "annuity",
        description="how capital is charged inside the horizon: annuities over each asset's "
        "economic life for the years inside the horizon (annuity), full price less a "
        "straight-line residual credited at the end (salvage), or full price (none)",
    )
    economic_life: EconomicLife = Field(default_factory=EconomicLife)


Months = Annotated[float, _quantity("month"), Field(ge=0, le=120)]


class Construction(Strict):
    """Time to build the data hall once the permit is in hand."""

    first_block_months: Months = Field(
        18.0,
        description="shell, M&E plant and first IT block, from permit to first IT online "
        "(hyperscale first buildings: 18-24 months)",
    )
    by_cooling: dict[CoolingId, Months] = Field(
        default_factory=dict, description="first_block_months for particular cooling technologies"
    )


class Limits(Strict):
    """Portfolio-wide limits. Leave a limit out for none."""

    capex_budget_usd_per_year: YearlyUSD | None = Field(
        None, description="capital spend per year, flat or {year: amount} (held forward)"
    )
    carbon_cap_t_per_year: YearlyT | None = Field(
        None, description="fleet CO2 per year, flat or {year: tonnes} (held forward)"
    )
    min_sites: Annotated[int, Field(ge=0)] = Field(0, description="fewest sites to open")
    max_sites: Annotated[int, Field(gt=0)] | None = Field(None, description="most sites to open")
    max_iso_share: Fraction | None = Field(None, description="most IT capacity one ISO may hold")
    block_mw: MWPos = Field(20.0, description="IT capacity is built in blocks of this size")
    max_build_mw_per_year: MWPos = Field(300.0, description="IT MW one site can commission per year")
    water_cap_scale: Annotated[float, Field(ge=0)] = Field(
        1.0, description="scale every site's water allowance (0 forbids on-site water)"
    )

    @model_validator(mode="after")
    def _sites_ordered(self):
        if self.max_sites is not None and self.max_sites < self.min_sites:
            raise ValueError(f"max_sites {self.max_sites} is below min_sites {self.min_sites}")
        return self


class FlexibleInterconnection(Strict):
    """Curtailable grid service before (and beside) firm service (docs/formulation.md)."""

    curtailment_share: Annotated[float, _quantity("1"), Field(ge=0.0025, le=0.01)] = Field(
        0.005, description="share of the year's hours the flexible MW may be curtailed "
        "(Norris et al. 2025 give headroom at 0.25 %, 0.5 % and 1 %)")
    headroom_share: Fraction = Field(
        0.1, description="share of the national curtailment-enabled headroom the fleet may "
        "claim (assumption)")
    queue_share: Fraction = Field(
        0.5, description="share of the interconnection study a flexible load still waits "
        "for (assumption)")
    curtailment_usd_per_mwh: USDPerMWh = Field(
        1500.0, description="value of the compute a curtailed MWh loses (assumption)")


class BridgePower(Strict):
    """On-site bridge power that carries a site before its grid connection, then stands by.

    The optimiser chooses, per site, among the ``technologies`` offered (docs/formulation.md).
    """

    technologies: Annotated[list[Literal["gas_turbine", "gas_engine", "fuel_cell",
                                         "solar_storage"]], Field(min_length=1)] = Field(
        default_factory=lambda: ["gas_turbine", "gas_engine", "fuel_cell", "solar_storage"],
        description="bridge technologies the optimiser may choose from at each site")
    fuel_usd_per_mmbtu: Annotated[float, Field(ge=0, le=100)] = Field(
        3.5, description="delivered gas price [USD/MMBtu] (assumption near EIA Henry Hub 2024)")
    supply_mw_per_year: MWPos | None = Field(
        1000.0, description="gas turbine MW the whole fleet can take delivery of per year "
        "(assumption; null = no cap)")
    lead_time_yr: Years | None = Field(
        None, description="gas turbine order to operation [yr] (default 2, assumption); the "
        "state's air-permit track runs alongside")


class PowerSmoothing(Strict):
    """Batteries that absorb synchronous training swings beyond what the ISO accepts."""

    allowance_mw: MW = Field(20.0, description="swing one site may put on the grid (assumption)")
    allowance_mw_by_iso: dict[str, MW] = Field(default_factory=dict,
                                               description="allowance_mw per ISO")
    duration_h: Annotated[float, _quantity("h"), Field(gt=0, le=4)] = Field(
        0.25, description="hours the battery carries a swing while generation follows")


class PowerLevers(Strict):
    """Time-to-power levers on the power side; each is off unless its section is given."""

    flexible_interconnection: FlexibleInterconnection | None = None
    bridge: BridgePower | None = None
    smoothing: PowerSmoothing | None = None
# --------------------------------------------------------------------------- fleet levers
class SupplyChain(Strict):
    """Supply shared by the whole fleet: large power transformers and chip deliveries.

    Off unless a cap is given. Transformers (units >= 100 MVA, DOE's definition of a large
    power transformer) ordered in a year arrive ``grid.transformer_lead_weeks`` later; the
    cap is on orders per year, so when it binds the later options wait for a slot.
    """

    transformers_per_year: Annotated[float, Field(ge=0, le=5000)] | None = Field(
        None, description="large power transformers the fleet can order per year (null = no cap; "
        "the whole US took ~754 in 2019, DOE 2024)"
    )
    transformers_on_order: Annotated[float, Field(ge=0, le=5000)] = Field(
        0.0, description="transformers already ordered before the first year (arrive within "
        "one lead time)"
    )
    chip_gpus_per_year: dict[ChipId, GPUCount] = Field(
        default_factory=dict, description="GPUs of a chip the fleet can take delivery of per "
        "year (a study figure: vendors publish no allocation)"
    )


class TrainingCluster(Strict):
    """A training cluster: ``gpus`` of ``chip`` online together at one site from ``year`` on."""

    chip: ChipId = Field(description="chip of the cluster")
    gpus: GPUCount = Field(description="GPUs the cluster needs [GPU]")
    year: Year = Field(description="year from which the cluster must be online")
    multi_site: bool = Field(
        False, description="allow the cluster to span sites, paying for the inter-site "
        "bandwidth of the GPUs outside its home site"
    )
    intersite_usd_per_gpu_year: USDPerGPU | None = Field(
        None, description="inter-site bandwidth cost per GPU outside the home site per year "
        "(default: 10 Gbps per GPU x 1,000 USD per Gbps-year, an assumption)"
    )


class DeliveredTarget(Strict):
    """At least ``gpu_hours`` of delivered GPU-hours of a workload in ``year`` and after."""

    year: Year = Field(description="year from which the target holds")
    workload: Literal["training", "inference"] = Field(description="workload the hours serve")
    gpu_hours: Annotated[float, Field(gt=0, le=1e13)] = Field(
        description="GPU-hours delivered per year [GPU-h]"
    )


class DeliveredCompute(Strict):
    """Targets stated as GPU-hours delivered at a utilisation by workload."""

    targets: list[DeliveredTarget] = Field(default_factory=list)
    training_utilisation: Fraction = Field(
        0.90, description="share of online hours a training GPU delivers (Llama 3 405B: >90 % "
        "effective training time)"
    )
    inference_utilisation: Fraction = Field(
        0.50, description="share of online hours an inference GPU delivers (LBNL 2024 implies "
        "~50 % average-to-capacity use; an assumption for inference)"
    )

    @model_validator(mode="after")
    def _positive_utilisation(self):
        for name in ("training_utilisation", "inference_utilisation"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be above 0 (a GPU that delivers nothing meets no "
                                 "target)")
        return self


class ValueOfDelay(Strict):
    """Re-solve with every target year shifted, to draw the cost-versus-speed curve."""

    shifts_yr: list[Annotated[int, Field(ge=-5, le=5)]] = Field(
        default_factory=list, description="target-year shifts to solve (e.g. [-1, 1]); "
        "empty = no curve"
    )


class FleetLevers(Strict):
    """Fleet levers of time to power; each is off until the study turns it on."""

    supply_chain: SupplyChain = Field(default_factory=SupplyChain)
    training_clusters: list[TrainingCluster] = Field(default_factory=list)
    delivered_compute: DeliveredCompute = Field(default_factory=DeliveredCompute)
    value_of_delay: ValueOfDelay = Field(default_factory=ValueOfDelay)

    @model_validator(mode="after")
    def _one_cluster_per_chip(self):
        dupes = _repeated(c.chip for c in self.training_clusters)
        if dupes:
            raise ValueError(f"more than one training cluster of {dupes}; give one cluster per "
                             "chip (the largest)")
        return self


class Solver(Strict):
    """HiGHS options."""

    time_limit_s: Annotated[float, _quantity("s"), Field(gt=0)] = Field(
        600.0, description="wall-clock limit, e.g. '10 min'"
    )
    mip_rel_gap: Annotated[float, Field(gt=0, lt=1)] = 0.01
    threads: Annotated[int, Field(ge=1, le=64)] = Field(
        1, description="CPU threads for HiGHS; the sifting route also prices its sites on "
        "this many threads")
    seed: Annotated[int, Field(ge=0)] = 0
    route: Literal["auto", "full", "sifting"] = Field(
        "auto", description="how the MIP is solved: 'full' (HiGHS on the whole model), "
        "'sifting' (the LP by site sifting, the MIP over the sites it needs, a bound covering "
        "the rest; for national studies) or 'auto' (sifting from 100,000 columns)")


class Scenario(Strict):
    """One outcome of the uncertain future: a name, its probability and the fields it changes."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")] = Field(
        description="short id (letters, digits, '_', '-', '.'), e.g. demand_high")
    probability: Annotated[float, _quantity("1"), Field(gt=0, le=1)] = Field(
        description="probability of the scenario (the scenarios' probabilities sum to 1)")
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="study fields this scenario changes, as dotted paths (the same as "
        "`dcplan run --set`), e.g. {grid.transformer_lead_weeks: 200}")

    @field_validator("overrides")
    @classmethod
    def _scenario_fields(cls, value):
        fixed = ("name", "description", "horizon", "sites", "solver", "uncertainty")
        bad = [k for k in value if k.split(".")[0] in fixed and not k.startswith("sites.overrides.")]
        if bad:
            raise ValueError(
                f"overrides {bad} change {', '.join(sorted({k.split('.')[0] for k in bad}))}, "
                "which every scenario shares (the candidate sites, the horizon and the solver); "
                "change per-site fields through sites.overrides.<site_id>.<field>")
        return value


class Risk(Strict):
    """Risk aversion of a two-stage study: expected cost + cvar_weight x CVaR_alpha of the cost."""

    cvar_weight: Annotated[float, Field(ge=0, le=100)] = Field(
        0.0, description="weight of the conditional value at risk (0 = expected cost alone)")
    cvar_alpha: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.9, description="CVaR level: the mean cost of the worst (1 - alpha) probability mass")


class Uncertainty(Strict):
    """A two-stage study: first-stage decisions shared by every scenario, the rest per scenario."""

    scenarios: Annotated[list[Scenario], Field(min_length=1, max_length=64)]
    first_stage_last_year: Year = Field(
        description="last year whose builds (IT blocks, interconnect MW, GPU purchases) are "
        "decided before the uncertainty resolves, the same in every scenario")
    share_site_choice: bool = Field(
        True, description="site openings and interconnect choices are shared in every year "
        "(false: only in the first-stage years, like the builds)")
    risk: Risk = Field(default_factory=Risk)

    @model_validator(mode="after")
    def _probabilities(self):
        dupes = _repeated(s.name for s in self.scenarios)
        if dupes:
            raise ValueError(f"duplicate scenario names {dupes}; give each scenario its own name")
        total = math.fsum(s.probability for s in self.scenarios)
        if abs(total - 1.0) > 1e-6:
            listed = ", ".join(f"{s.name} {s.probability:g}" for s in self.scenarios)
            raise ValueError(
                f"the scenario probabilities sum to {total:.6g}, not 1 ({listed}); "
                "scale them so they add up to 1")
        return self


class Study(Strict):
    """A dcplan planning study."""

    _base_dir: Path | None = PrivateAttr(None)
    _source: str = PrivateAttr("<study>")

    name: Annotated[str, Field(min_length=1, max_length=120)] = Field(description="study name")
    description: str = Field("", description="what the study asks")
    horizon: Horizon
    fleet: Fleet
    sites: Sites
    chips: Chips = Field(default_factory=Chips)
    cooling: Cooling = Field(default_factory=Cooling)
    workload: Workload = Field(default_factory=Workload)
    electrical: Electrical = Field(default_factory=Electrical)
    grid: Grid = Field(default_factory=Grid)
    weather: Weather = Field(default_factory=Weather)
    costs: Costs = Field(default_factory=Costs)
    construction: Construction = Field(default_factory=Construction)
    limits: Limits = Field(default_factory=Limits)
    power_levers: PowerLevers = Field(default_factory=PowerLevers)
    fleet_levers: FleetLevers = Field(default_factory=FleetLevers)
    solver: Solver = Field(default_factory=Solver)
    uncertainty: Uncertainty | None = Field(
        None, description="scenarios of a two-stage stochastic study (docs/stochastic.md)")

    @model_validator(mode="after")
    def _first_stage_in_horizon(self):
        last = self.uncertainty.first_stage_last_year if self.uncertainty else None
        if last is not None and not self.horizon.first_year <= last <= self.horizon.last_year:
            raise ValueError(
                f"uncertainty.first_stage_last_year {last} is outside the horizon "
                f"{self.horizon.first_year}-{self.horizon.last_year}; pick a year inside it")
        return self

    @model_validator(mode="after")
    def _targets_in_horizon(self):
        years = range(self.horizon.first_year, self.horizon.last_year + 1)
        levers = [*self.fleet_levers.training_clusters, *self.fleet_levers.delivered_compute.targets]
        bad = [t.year for t in [*self.fleet.gpus, *self.fleet.compute, *levers] if t.year not in years]
        if bad:
            raise ValueError(
                f"fleet target years {sorted(set(bad))} fall outside the horizon "
                f"{self.horizon.first_year}-{self.horizon.last_year}; move them or widen the horizon"
            )
        return self

    def chip_ids(self) -> list[str]:
        """Chips in the study: ``chips.use`` or those the targets name, plus custom parts."""
        if self.chips.use is not None:
            ids = list(self.chips.use)
        else:
            ids = [t.chip for t in self.fleet.gpus]
            for target in self.fleet.compute:
                ids.extend(target.chips or [])
        ids.extend(c.chip_id for c in self.chips.custom)
        return list(dict.fromkeys(ids))  # unique, in order

    def to_yaml(self) -> str:
        """The study as YAML in canonical units (what the plan stores)."""
        return yaml.safe_dump(self.model_dump(mode="json", exclude_none=True), sort_keys=False)


# --------------------------------------------------------------------------- loading
_FIXES = {
    "extra_forbidden": "remove the key, or check its spelling against `dcplan schema`",
    "missing": "add the field",
    "literal_error": "use one of the allowed values",
    "int_parsing": "write a whole number",
    "int_from_float": "write a whole number",
    "float_parsing": "write a number, or a quantity with units such as '132 kW'",
    "greater_than_equal": "use a larger value",
    "less_than_equal": "use a smaller value",
    "greater_than": "use a larger value",
    "less_than": "use a smaller value",
    "string_pattern_mismatch": "follow the pattern shown",
    "model_type": "write a mapping (key: value lines)",
    "list_type": "write a list (- item lines)",
    "dict_type": "write a mapping (key: value lines)",
    "bool_type": "write true or false",
    "bool_parsing": "write true or false",
    "finite_number": "write a finite number; to set no limit leave the field out or write null",
}

#: keys a study may still write by an earlier name: the fix their unknown-key error gives
_RENAMED = {
    ("power",): "rename the section to `power_levers:` (the time-to-power levers on the power "
    "side)",
}

#: longest prefix of a bad value quoted in a message [characters]
MAX_QUOTED = 60
#: largest study file read [bytes]; a real study with 1,000 inline sites is ~0.2 MB
MAX_STUDY_BYTES = 4_000_000
#: most YAML nodes a study may expand to once aliases are followed (a real study has a few
#: thousand; an alias bomb has billions)
MAX_YAML_NODES = 200_000


def short(value: Any) -> str:
    """repr of a value cut to a short prefix, so no message can grow with the input."""
    text = value if isinstance(value, str) else None
    if text is None:
        try:
            text = repr(value) if not isinstance(value, Mapping | list) else type(value).__name__
        except Exception:  # a repr that fails is no reason to fail the message
            text = type(value).__name__
    else:
        text = repr(text[: MAX_QUOTED + 1])
    return text if len(text) <= MAX_QUOTED + 2 else text[:MAX_QUOTED] + "..."


def _location(source: str, loc: tuple) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("function-after[_chip_id(), str]",) or str(part).startswith(("function-", "union[")):
            continue
        elif part == "[key]":
            continue
        else:
            path += f".{part}" if path else str(part)
    return f"{source}: {path or '(top level)'}"


def _problems_from(error: ValidationError, source: str) -> list[Problem]:
    problems = []
    seen = set()
    for item in error.errors(include_url=False):
        loc = tuple(p for p in item["loc"] if not _is_union_tag(p))
        message = item["msg"].removeprefix("Value error, ")
        if len(message) > 400:
            message = message[:400] + "..."
        if "input" in item and "got" not in message and item["type"] != "missing" and not isinstance(
            item["input"], Mapping | list
        ):
            message = f"{message} (got {short(item['input'])})"
        key = (loc, message)
        if key in seen:
            continue
        seen.add(key)
        fix = _RENAMED.get(loc, "") if item["type"] == "extra_forbidden" else ""
        problems.append(Problem(_location(source, loc), message, fix or _FIXES.get(item["type"], "")))
    return problems


def _is_union_tag(part) -> bool:
    text = str(part)
    return text.startswith(("function-", "union[", "tagged-union[")) or text in (
        "float",
        "int",
        "str",
        "dict[int,function-after[_nonneg(), float]]",
    ) or text.startswith(("dict[", "list["))


def _catalog_chip_ids() -> set[str]:
    from dcplan.catalog import read_chips

    try:
        return set(read_chips().index)
    except Exception:  # a broken catalog is reported where it is read, not here
        return set()


def parse_study(data: Any, source: str = "<study>") -> Study:
    """Validate a study given as a mapping; raise SpecError listing every problem.

    Parameters
    ----------
    data : mapping
        The study, as loaded from YAML or built in code.
    source : str
        Name used in error messages (usually the file path).
    """
    if not isinstance(data, Mapping):
        raise SpecError(
            [Problem(source, f"a study must be a mapping of sections, got {type(data).__name__}",
                     "start the file with keys such as name:, horizon:, fleet:, sites:")]
        )
    custom = data.get("chips", {}).get("custom", []) if isinstance(data.get("chips"), Mapping) else []
    custom_ids = set()
    if isinstance(custom, list):
        for chip in custom:
            if isinstance(chip, Mapping) and isinstance(chip.get("chip_id"), str):
                custom_ids.add(chip["chip_id"])
    context = {"chip_ids": _catalog_chip_ids() | custom_ids}
    try:
        return Study.model_validate(dict(data), context=context)
    except ValidationError as exc:
        raise SpecError(_problems_from(exc, source), f"{source} is not a valid dcplan study") from None


def load_study(path: str | Path) -> Study:
    """Read and validate a YAML study file (or a shipped study by name).

    Raises
    ------
    SpecError
        Listing every problem: YAML syntax (with line), unknown keys, wrong units, bad values.
    """
    from dcplan.catalog import find_study

    if not isinstance(path, str | os.PathLike):
        raise SpecError([Problem("load_study", f"expected a file path or the name of a shipped "
                                 f"study, got {type(path).__name__}",
                                 "pass a path; for a study in a mapping use parse_study(data)")])
    path = find_study(path)
    try:
        size = Path(path).stat().st_size
        if size > MAX_STUDY_BYTES:
            raise SpecError([Problem(str(path), f"the file is {size / 1e6:.1f} MB; a study file "
                                     f"may be at most {MAX_STUDY_BYTES / 1e6:.0f} MB",
                                     "put many candidate sites in a site file (sites.file)")])
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Problem(str(path), f"cannot read the file: {short(str(exc))}",
                                 "check the path, and save the file as UTF-8")]) from None
    try:
        data = yaml.load(text, Loader=_StudyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = str(getattr(exc, "problem", None) or exc)
        problem = problem if len(problem) <= 300 else problem[:300] + "..."
        if isinstance(exc, _LimitError):
            raise SpecError([Problem(where, problem, exc.fix)]) from None
        raise SpecError([Problem(where, f"YAML syntax error: {problem}",
                                 "fix the indentation or quoting at that line")]) from None
    study = parse_study(data if data is not None else {}, str(path))
    study._base_dir = Path(path).resolve().parent
    study._source = str(path)
    return study


# ------------------------------------------------------------------------ overrides
def _put(data: dict, dotted: str, value: Any) -> str | None:
    """Set ``data[a][b]... = value`` for ``dotted = "a.b..."``; return what is wrong, if anything."""
    parts = dotted.split(".")
    if not all(part.strip() for part in parts):
        return f"{dotted!r} is not a field path"
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, dict):
            return f"{part!r} in {dotted!r} holds a value, not a section (a list is replaced whole)"
        node = child
    node[parts[-1]] = value
    return None


def _set_path(data: dict, dotted: str, value: Any, option: str = "--vary") -> None:
    problem = _put(data, dotted, value)
    if problem:
        msg = f"{option} {dotted}: {problem}"
        raise ValueError(msg)


def with_overrides(base: Study, values: Mapping[str, Any]) -> Study:
    """``base`` with the dotted fields of ``values`` replaced, validated again.

    Raises
    ------
    SpecError
        An override names an unknown field or gives a value the field does not accept.
    """
    if not values:
        return base
    data = base.model_dump(mode="json", exclude_none=True)
    for key, value in values.items():
        _set_path(data, key, value, option="--set")
    study = parse_study(data, f"{base.name} with {dict(values)}")
    study._base_dir = base._base_dir
    return study


class _LimitError(yaml.constructor.ConstructorError):
    """A study file that is valid YAML but breaks a limit of study files (with its fix)."""

    def __init__(self, problem: str, mark, fix: str):
        super().__init__(None, None, problem, mark)
        self.fix = fix


class _StudyLoader(yaml.SafeLoader):
    """PyYAML's safe loader that also rejects duplicate keys and alias bombs."""

    def construct_document(self, node):
        expanded = _expanded_size(node, {})
        if expanded > MAX_YAML_NODES:
            raise _LimitError(
                f"the document expands to {'at least ' if expanded >= 10 * MAX_YAML_NODES else ''}"
                f"{expanded:,.0f} values once its aliases (*name) are followed; a study may "
                f"expand to at most {MAX_YAML_NODES:,}", node.start_mark,
                "write the values out, or use fewer nested aliases")
        return super().construct_document(node)

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, Any] = {}
            for key_node, _ in node.value:
                merge = key_node.tag == "tag:yaml.org,2002:merge"
                if merge or not isinstance(key_node, yaml.ScalarNode):
                    continue
                if key_node.value in seen:
                    first = seen[key_node.value].start_mark.line + 1
                    raise _LimitError(
                        f"duplicate key {short(key_node.value)} (first given on line {first}); "
                        "each key may appear once", key_node.start_mark,
                        "keep one of the two entries")
                seen[key_node.value] = key_node
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node, memo: dict[int, int]) -> int:
    """Number of nodes the tree under ``node`` has with every alias expanded (memoised)."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a cycle counts once (PyYAML builds recursive objects for those)
    if isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_expanded_size(child, memo) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    else:
        total = 1
    memo[key] = min(total, 10 * MAX_YAML_NODES)
    return memo[key]


def resolve_path(study: Study, relative: str) -> Path:
    """Resolve a path written in a study file against the file's folder."""
    path = Path(relative).expanduser()
    if path.is_absolute() or study._base_dir is None:
        return path
    return study._base_dir / path


def json_schema() -> dict:
    """The JSON Schema of a study file."""
    schema = Study.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "dcplan study"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2)


def is_schema_file(path: str | Path) -> bool:
    """True if ``path`` holds a study JSON Schema that dcplan wrote (so it may be replaced)."""
    path = Path(path)
    if path.stat().st_size > 10_000_000:
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("title") == "dcplan study" and "$defs" in data
