"""Plots for the diagnose report, rendered by matplotlib to SVG markup that inlines into an HTML page.

Every function takes plain values and returns an ``<svg>`` string. Figures are built with the object-oriented
``Figure`` API (no pyplot): pyplot keeps global figure state and would switch the backend of a user's own session;
a bare ``Figure`` renders to SVG on its own. Text is drawn as paths (``svg.fonttype = 'path'``), so the SVG needs
no font files and looks the same offline on any machine.
"""

from __future__ import annotations

import io
import re
from typing import Mapping

import matplotlib
from matplotlib.figure import Figure

from ragtune.evaluate.bootstrap import Estimate

# Print-friendly and readable in grey-scale: one blue, one warm accent, grey for the target line.
BAR = "#4c72b0"
ACCENT = "#dd8452"
TARGET = "#555555"

_STYLE = {
    "svg.fonttype": "path",  # glyphs as paths: no font references of any kind in the markup
    "svg.hashsalt": "ragtune",  # deterministic clip-path ids, so the same diagnosis renders the same bytes
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
STYLE = _STYLE  # shared with the other reports' plots (economics/plot.py)
# Empty metadata: no creator/date strings and no RDF block pointing at external vocabularies.
_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)
_ID_USES = re.compile(r'(\bid="|url\(#|href="#)([^")]+)')


def to_svg(figure: Figure, prefix: str) -> str:
    """The figure as inline ``<svg>`` markup: no XML prolog or DOCTYPE (they are invalid inside HTML) and every
    id prefixed, so several plots on one page do not share ``#clip`` or glyph ids."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata=_METADATA, bbox_inches="tight")
    markup = _PROLOG.sub("", buffer.getvalue(), count=1)
    return _ID_USES.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", markup).strip()


def condition_scores(conditions: Mapping[str, Estimate], target: float) -> str:
    """Mean primary score per condition with its 95% CI as error bars, and the target as a dashed line."""
    names = list(conditions)
    values = [conditions[c].value for c in names]
    below = [max(0.0, conditions[c].value - conditions[c].ci95[0]) for c in names]
    above = [max(0.0, conditions[c].ci95[1] - conditions[c].value) for c in names]
    with matplotlib.rc_context(_STYLE):
        figure = Figure(figsize=(6.4, 3.2))
        ax = figure.add_subplot()
        positions = range(len(names))
        ax.bar(positions, values, color=BAR, width=0.6, yerr=[below, above], capsize=5,
               error_kw={"elinewidth": 1.2, "ecolor": "#222222"})
        ax.axhline(target, color=TARGET, linestyle="--", linewidth=1.2, label=f"target {target:.2f}")
        for x, c in zip(positions, names):
            e = conditions[c]
            ax.annotate(f"{e.value:.2f}\nn={e.n}", (x, min(e.ci95[1], 1.0)), textcoords="offset points",
                        xytext=(0, 4), ha="center", va="bottom", fontsize=8)
        ax.set_xticks(list(positions), [c.replace("+", " +\n") for c in names])
        ax.set_ylim(0, 1.18)  # scores are shares in [0, 1]; headroom for the labels above the CI bars
        ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.set_ylabel("primary score (95% CI)")
        ax.legend(loc="upper left", frameon=False)
        return to_svg(figure, "scores")


def failure_taxonomy(failures: Mapping[str, int]) -> str:
    """Failing items per class as horizontal bars, in the taxonomy's order from the top, counts at the bar ends."""
    names = list(failures)
    counts = [failures[n] for n in names]
    with matplotlib.rc_context(_STYLE):
        figure = Figure(figsize=(6.4, 0.45 * len(names) + 0.9))
        ax = figure.add_subplot()
        positions = range(len(names))
        ax.barh(positions, counts, color=ACCENT, height=0.6)
        ax.set_yticks(list(positions), [n.replace("_", " ") for n in names])
        ax.invert_yaxis()  # read top-down in the order the taxonomy lists the classes
        top = max(counts, default=0)
        ax.set_xlim(0, max(1, top) * 1.15)
        for y, count in zip(positions, counts):
            ax.annotate(str(count), (count, y), textcoords="offset points", xytext=(4, 0), va="center", fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("failing items (each counted once, in the first class that explains it)")
        return to_svg(figure, "failures")
