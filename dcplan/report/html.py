"""The report page: one self-contained ``index.html`` with the figures as data URIs and
inline CSS, so it opens offline, by e-mail or from a USB stick, and needs no JavaScript."""

from __future__ import annotations

import base64
import html
import io
import logging
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from dcplan.atomic import atomic_dir
from dcplan.report.common import (
    _chosen,
    _cooling_label,
    _years,
    cooling_color,
)
from dcplan.report.figures import FIGURES, _site_name
from dcplan.report.levers import fleet_levers_html
from dcplan.report.power import power_levers_html
from dcplan.report.tables import (
    SITE_YEAR_COLUMNS,
    YEAR_COLUMNS,
    _fmt,
    assumptions,
    binding_constraints_text,
    site_columns,
    site_facts,
    site_years_table,
    year_rows,
)
from dcplan.results import Plan

logger = logging.getLogger(__name__)


_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#1d1d1d;
background:#fafafa;line-height:1.45}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:1.7em;margin:0 0 4px}h2{font-size:1.25em;margin:32px 0 8px;border-bottom:1px solid #ddd;
padding-bottom:4px}.sub{color:#555;margin:0 0 18px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:130px;background:#fcfcfc}
.card b{display:block;font-size:1.25em}.card span{color:#555;font-size:.85em}
.ok{color:#1a7f37}.bad{color:#b42318}
table{border-collapse:collapse;font-size:.85em;margin:8px 0}
th,td{border-bottom:1px solid #e3e3e3;padding:4px 9px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
figure{margin:12px 0 22px}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#444;font-size:.9em;margin-top:4px}
.swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin:0 4px 0 10px;
vertical-align:middle}
footer{color:#777;font-size:.8em;margin-top:40px}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, facecolor="white")
    return buffer.getvalue()


def _summary_cards(summary: dict) -> str:
    audit = summary.get("audit") or {}
    ok = audit.get("ok")
    years = summary.get("years") or []
    last = years[-1] if years else {}
    cards = [
        ("status", _esc(summary.get("status", "unknown"))),
        ("net present cost", f"${_fmt((summary.get('objective_usd') or float('nan')) / 1e9, 2)} bn"),
        ("MIP gap", f"{summary['mip_gap']:.2%}" if isinstance(summary.get("mip_gap"), (int, float)) else "–"),
        ("sites opened", _fmt(summary.get("sites_opened"))),
        (f"IT capacity {last.get('year', '')}", f"{_fmt(last.get('it_capacity_mw'))} MW"),
        (f"GPUs {last.get('year', '')}", _fmt(last.get("gpus"))),
        ("solve time", f"{_fmt(summary.get('solve_seconds'), 1)} s"),
        ("audit", f'<span class="{"ok" if ok else "bad"}">'
                  f'{"passed" if ok else "FAILED" if ok is False else "not run"}</span>'),
    ]
    return '<div class="cards">' + "".join(
        f"<div class=card><b>{value}</b><span>{_esc(label)}</span></div>" for label, value in cards
    ) + "</div>"


def _years_table(summary: dict) -> str:
    rows = year_rows(summary)
    if not rows:
        return "<p>No per-year totals in the summary.</p>"
    head = "<tr>" + "".join(f"<th>{_esc(c.label)}</th>" for c in YEAR_COLUMNS) + "</tr>"
    body = "".join("<tr>" + "".join(f"<td>{_esc(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table>{head}{body}</table>"


def _sites_table(plan: Plan) -> str:
    chosen = _chosen(plan)
    if chosen.empty:
        return "<p>No site is opened in this plan.</p>"
    columns = site_columns(chosen)
    if "first_year" in chosen.columns:
        chosen = chosen.sort_values(["first_year", "site_id"])
    head = "<tr>" + "".join(
        f'<th class="{"" if c.numeric else "l"}">{_esc(c.label)}</th>' for c in columns) + "</tr>"
    body = []
    for _, row in chosen.iterrows():
        cells = []
        for column in columns:
            value = row[column.key]
            if column.key == "cooling":
                text = (f'<span class="swatch" style="background:{cooling_color(value)}"></span>'
                        f"{_esc(_cooling_label(value))}")
            else:
                text = _esc(column.format(None if pd.isna(value) else value))
            cells.append(f'<td class="{"" if column.numeric else "l"}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _audit_html(summary: dict) -> str:
    audit = summary.get("audit")
    if not audit:
        return "<p>The plan was not audited.</p>"
    violations = audit.get("violations") or []
    if audit.get("ok"):
        return ('<p class="ok">Passed: every constraint family was re-checked from the plan\'s '
                "outputs alone and none is violated.</p>")
    items = "".join(f"<li>{_esc(v if isinstance(v, str) else _violation_text(v))}</li>" for v in violations)
    return (f'<p class="bad">FAILED: {len(violations)} violation(s) found when re-checking the '
            f"plan from its outputs.</p><ul>{items}</ul>")


def _violation_text(violation: Any) -> str:
    if isinstance(violation, dict):
        return "; ".join(f"{k}: {v}" for k, v in violation.items())
    return str(violation)


def _cooling_legend(plan: Plan) -> str:
    """Swatches of the cooling technologies the plan installs (not every one it was offered)."""
    ds = plan.dataset
    cap = ds["it_capacity_mw"]
    present = [str(c) for c in ds["cooling"].values[(cap > 0).any(("site", "year")).values]]
    if not present:
        return ""
    return "<p>Cooling colours:" + "".join(
        f'<span class="swatch" style="background:{cooling_color(c)}"></span>{_esc(_cooling_label(c))}'
        for c in present) + "</p>"


def _site_sections(plan: Plan, limit: int = 40) -> str:
    """One section per opened site (the largest ``limit``): time to power, years, costs."""
    chosen = _chosen(plan)
    if chosen.empty:
        return ""
    chosen = chosen.sort_values("it_capacity_mw", ascending=False).head(limit)
    parts = ["<h2>Sites in detail</h2>"]
    for site_id in chosen["site_id"].astype(str):
        facts = site_facts(plan, site_id)
        table = site_years_table(plan, site_id).reset_index()
        head = "<tr>" + "".join(f"<th>{_esc(c.label)}</th>" for c in SITE_YEAR_COLUMNS) + "</tr>"
        body = "".join("<tr>" + "".join(f"<td>{_esc(c.format(row.get(c.key)))}</td>" for c in SITE_YEAR_COLUMNS)
                       + "</tr>" for row in table.to_dict("records"))
        power = []
        if facts.get("permit_year") is not None:
            power.append(f"permits allow capacity from {facts['permit_year']}")
        if facts.get("interconnect_year") is not None:
            kv = facts.get("interconnect_kv")
            power.append(f"interconnection '{facts['interconnect_option']}'"
                         + (f" at {kv:,.0f} kV" if kv and np.isfinite(kv) else "")
                         + f" energises from {facts['interconnect_year']} (large-load study, queue, "
                           "equipment lead time and construction)")
        ttp = facts.get("time_to_power_yr") or {}
        if ttp:
            power.append("parts of the time to power: "
                         + ", ".join(f"{k} {v:.1f} yr" for k, v in ttp.items()))
        if facts.get("first_year") is not None:
            power.append(f"first IT capacity online in {facts['first_year']}")
        split = ", ".join(f"{label} {_fmt(value / 1e6)} M" for label, value in facts["cost_split_usd"].items()
                          if value)
        lcoh = facts.get("levelised_usd_per_gpu_hour")
        parts += [
            f'<section class="site" id="site-{_esc(site_id)}"><h3>{_esc(_site_name(plan, site_id))}</h3>',
            f"<p>Time to power: {_esc('; '.join(power) or 'no capacity built')}.</p>",
            f"<p>Cost split, undiscounted [USD]: {_esc(split)}. Net present cost "
            f"{_fmt(facts['npv_usd'] / 1e6)} million USD"
            + (f"; levelised {lcoh:,.2f} USD per GPU-hour (net present cost over discounted "
               "GPU-hours online)" if lcoh else "") + ".</p>",
            f"<table>{head}{body}</table></section>",
        ]
    return "\n".join(parts)


def _assumptions_html(plan: Plan) -> str:
    rows = "".join(f'<tr><td class="l">{_esc(a)}</td><td>{_esc(v)}</td><td class="l">{_esc(src)}</td></tr>'
                   for a, v, src in assumptions(plan))
    return ("<p>Defaults and data the plan rests on, with where each comes from. Change them in "
            'the study (see the study reference) to see how the plan moves.</p><table><tr><th class="l">'
            'assumption</th><th>value</th><th class="l">source</th></tr>' + rows + "</table>")


def render_html(plan: Plan, figures: dict[str, bytes]) -> str:
    """The report page with ``figures`` (name -> PNG bytes) embedded as data URIs."""
    summary = plan.summary_dict()
    ds = plan.dataset
    name = summary.get("study") or ds.attrs.get("study_name") or ds.attrs.get("in_study_name") or "dcplan plan"
    years = _years(ds)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(name)}: dcplan report</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{_esc(name)}</h1>",
        f'<p class="sub">dcplan fleet plan, {years[0]}–{years[-1]}, '
        f"{ds.sizes.get('site', 0)} candidate sites.</p>",
        _summary_cards(summary),
        "<h2>Audit</h2>",
        _audit_html(summary),
        "<h2>Binding constraints</h2><ul>",
        "".join(f"<li>{_esc(line)}</li>" for line in binding_constraints_text(plan)),
        "</ul>",
        power_levers_html(plan),
        "<h2>Totals by year</h2>",
        _years_table(summary),
        "<h2>Chosen sites</h2>",
        _sites_table(plan),
        _cooling_legend(plan),
        _site_sections(plan),
        fleet_levers_html(plan),  # empty unless the study turned a fleet lever on
        '<h2 id="assumptions">Assumptions</h2>',
        _assumptions_html(plan),
    ]
    for spec in FIGURES:
        if spec.name not in figures:
            continue
        data = base64.b64encode(figures[spec.name]).decode("ascii")
        caption = spec.caption(plan)
        parts += [
            f"<h2>{_esc(spec.title)}</h2>",
            f'<figure id="fig-{spec.name}"><img alt="{_esc(caption)}" '
            f'src="data:image/png;base64,{data}">',
            f"<figcaption>{_esc(caption)}</figcaption></figure>",
        ]
    parts.append("<footer>Generated by dcplan. Figures are also saved beside this page as PNG files.</footer>")
    parts.append("</main></body></html>")
    return "\n".join(parts)


def write_report(plan: Plan, out_dir: str | Path) -> Path:
    """Write the figures as PNG files and a self-contained ``index.html`` into ``out_dir``.

    The folder is filled under a temporary name and swapped in whole, so a failure leaves
    the previous report (or nothing), never a half-written one.

    Parameters
    ----------
    plan : Plan
        A solved plan.
    out_dir : str or pathlib.Path
        Report folder; replaced if it exists.

    Returns
    -------
    pathlib.Path
        Path of ``index.html``.
    """
    out_dir = Path(out_dir)
    figures: dict[str, bytes] = {}
    with atomic_dir(out_dir) as tmp:
        # mkdtemp makes the folder private (0700); a report is meant to be shared.
        tmp.chmod(0o755)
        for spec in FIGURES:
            # names come from users: "$" in a site name is text, never TeX to parse
            with matplotlib.rc_context({"text.parse_math": False}):
                fig = spec.draw(plan)
                png = _png(fig)
            (tmp / f"{spec.name}.png").write_bytes(png)
            figures[spec.name] = png
        (tmp / "index.html").write_text(render_html(plan, figures), encoding="utf-8")
    logger.info("wrote report %s", out_dir / "index.html")
    return out_dir / "index.html"
