"""The comparison report of a scenario sweep: objective, sites and timing by scenario, and a
tornado chart of how far each varied parameter moves the net present cost."""

from __future__ import annotations

import base64
import html
import io
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dcplan.atomic import atomic_dir
from dcplan.report.html import _CSS

logger = logging.getLogger(__name__)


def tornado_table(table: pd.DataFrame, varied: Sequence[str]) -> pd.DataFrame:
    """For each varied field, the lowest and highest mean objective over its values [USD].

    The mean runs over the other fields' values (a full factorial sweep), over the scenarios
    that returned a plan. Rows are sorted by swing, largest first.
    """
    ok = table[table["objective_usd"].notna()]
    rows = []
    for field in varied:
        means = ok.groupby(field)["objective_usd"].mean()
        if means.empty:
            continue
        rows.append({"field": field, "low_usd": float(means.min()), "high_usd": float(means.max()),
                     "low_value": means.idxmin(), "high_value": means.idxmax(),
                     "swing_usd": float(means.max() - means.min())})
    frame = pd.DataFrame(rows, columns=["field", "low_usd", "high_usd", "low_value", "high_value", "swing_usd"])
    return frame.sort_values("swing_usd", ascending=False, ignore_index=True)


def plot_tornado(table: pd.DataFrame, varied: Sequence[str], ax: Axes | None = None) -> Figure:
    """Tornado chart: one bar per varied field from its lowest to its highest mean objective."""
    bars = tornado_table(table, varied)
    if ax is None:
        fig = Figure(figsize=(9.0, 1.6 + 0.6 * max(len(bars), 1)), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.get_figure()
    ok = table["objective_usd"].dropna()
    centre = float(ok.median()) / 1e9 if len(ok) else 0.0
    for i, row in bars.iterrows():
        ax.barh(i, (row["high_usd"] - row["low_usd"]) / 1e9, left=row["low_usd"] / 1e9,
                color="#4c72b0", gid=f"tornado|{row['field']}")
        ax.text(row["low_usd"] / 1e9, i, f"{row['low_value']} ", ha="right", va="center", fontsize=8)
        ax.text(row["high_usd"] / 1e9, i, f" {row['high_value']}", ha="left", va="center", fontsize=8)
    ax.axvline(centre, color="#333333", linewidth=0.8, linestyle="--", label="median scenario")
    ax.set_yticks(range(len(bars)), list(bars["field"]), fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel("net present cost [billion USD], mean over the other fields")
    ax.set_title("How far each varied field moves the cost of the plan")
    ax.margins(x=0.25)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def _cell(value: Any, column: str) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if column == "objective_usd":
        return f"{value / 1e9:,.3f}"
    if column == "mip_gap":
        return f"{value:.2%}"
    if column == "solve_seconds":
        return f"{value:,.1f}"
    return str(value)


_HEADERS = {"objective_usd": "NPV cost [bn USD]", "mip_gap": "gap", "solve_seconds": "solve [s]",
            "sites_opened": "sites opened", "sites": "sites", "status": "status", "audit_ok": "audit",
            "scenario": "scenario"}


def write_sweep_report(table: pd.DataFrame, grid: Mapping[str, Sequence[Any]], out_dir: str | Path) -> Path:
    """Write ``index.html`` (and ``tornado.png``) comparing the scenarios of a sweep.

    Differences between two scenarios smaller than the larger of their MIP gaps are not
    resolved by the solver; the page says so next to the table.
    """
    out_dir = Path(out_dir)
    varied = list(grid)
    fig = plot_tornado(table, varied)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, facecolor="white")
    png = buffer.getvalue()
    columns = ["scenario", *varied, "status", "objective_usd", "mip_gap", "sites_opened", "sites",
               "solve_seconds", "audit_ok"]
    columns = [c for c in columns if c in table.columns]
    head = "".join(f"<th>{html.escape(_HEADERS.get(c, c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(row[c], c))}</td>" for c in columns) + "</tr>"
                   for _, row in table.iterrows())
    gap = table["mip_gap"].max() if "mip_gap" in table else float("nan")
    page = "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>dcplan sweep</title><style>{_CSS}</style></head><body><main>",
        f"<h1>Scenario sweep: {len(table)} scenarios</h1>",
        f'<p class="sub">Varied: {html.escape(", ".join(varied))}. Each scenario is a full plan in '
        "<code>scenario_&lt;i&gt;/</code>.</p>",
        "<h2>Scenarios</h2>", f"<table><tr>{head}</tr>{body}</table>",
        f"<p>Two costs closer than the larger of their gaps (up to {_cell(gap, 'mip_gap')} here) are "
        "not told apart by the solver.</p>",
        '<h2>Tornado</h2><figure id="fig-tornado">'
        f'<img alt="tornado chart" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'
        "<figcaption>Each bar spans the lowest to the highest mean net present cost over the values "
        "of one field (labelled at its ends).</figcaption></figure>",
        "</main></body></html>",
    ])
    with atomic_dir(out_dir) as tmp:
        tmp.chmod(0o755)
        (tmp / "tornado.png").write_bytes(png)
        (tmp / "index.html").write_text(page, encoding="utf-8")
    logger.info("wrote sweep report %s", out_dir / "index.html")
    return out_dir / "index.html"
