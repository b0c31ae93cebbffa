"""Figures and a self-contained HTML report of a plan.

Every ``plot_*`` function takes a :class:`~dcplan.results.Plan` (anything with ``.dataset``,
``.sites``, ``.summary_dict()`` and optionally ``.shadow_prices()``) and an optional
matplotlib ``Axes``, draws on it (or on a new figure) and returns the ``Figure``. They use
plain matplotlib and never touch pyplot's global state, so they work in scripts, notebooks
and on servers without a display.

:func:`write_report` renders all of them to PNG files and one ``index.html`` that embeds
the figures as data URIs with inline CSS: the page opens offline, by e-mail or from a
USB stick, and needs no JavaScript.

Example
-------
>>> from dcplan.report import plot_buildout_timeline, write_report   # doctest: +SKIP
>>> fig = plot_buildout_timeline(plan)                                # doctest: +SKIP
>>> write_report(plan, "runs/x/report")                               # doctest: +SKIP
"""

from __future__ import annotations

from dcplan.report.common import COOLING_COLORS, COOLING_LABELS, cooling_color
from dcplan.report.figures import (
    FIGURES,
    FigureSpec,
    plot_binding_constraints,
    plot_buildout_timeline,
    plot_capacity_vs_target,
    plot_cost_breakdown,
    plot_resources,
    plot_site_map,
)
from dcplan.report.html import render_html, write_report
from dcplan.report.tables import YEAR_COLUMNS, binding_constraints_text, cost_components
from dcplan.results import register_view

__all__ = [
    "COOLING_COLORS",
    "COOLING_LABELS",
    "FIGURES",
    "YEAR_COLUMNS",
    "FigureSpec",
    "binding_constraints_text",
    "cooling_color",
    "cost_components",
    "plot_binding_constraints",
    "plot_buildout_timeline",
    "plot_capacity_vs_target",
    "plot_cost_breakdown",
    "plot_resources",
    "plot_site_map",
    "render_html",
    "write_report",
]

# The notebook shortcuts on Plan (plan.plot_site_map() ...) call these; results names this
# package as its drawing backend and never imports it.
register_view("plot_site_map", plot_site_map)
register_view("plot_buildout", plot_buildout_timeline)
register_view("plot_capacity", plot_capacity_vs_target)
register_view("plot_resources", plot_resources)
register_view("plot_costs", plot_cost_breakdown)
register_view("plot_binding_constraints", plot_binding_constraints)
register_view("write_report", write_report)
