"""Cost against volume, one line per option, break-evens marked: an inline ``<svg>`` for the diagnose report
(the web UI draws the same series from ``GET /v1/cost`` in the browser)."""

from __future__ import annotations

from ragtune.economics.estimate import CostEstimate, series
from ragtune.economics.model import LABEL

COLORS = {"prompt": "#4c72b0", "rag": "#dd8452", "finetune": "#55a868", "rag+finetune": "#8172b3"}
DASHES = {"prompt": "-", "rag": "--", "finetune": "-.", "rag+finetune": ":"}


def cost_plot(estimate: CostEstimate) -> str | None:
    """Monthly cost against queries a day (both axes logarithmic: lines with a fixed cost bend on them, and
    volumes a thousand times apart stay readable); None when no option has a complete cost line."""
    lines = series(estimate)
    if not lines:
        return None
    # imported here: matplotlib costs every CLI command ~0.5 s of imports, and only reports draw plots
    import matplotlib
    from matplotlib.figure import Figure

    from ragtune.evaluate.plots import STYLE, to_svg

    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(6.4, 3.6))
        ax = figure.add_subplot()
        floor = min((y for points in lines.values() for _, y in points if y > 0), default=1.0) / 2
        for name, points in lines.items():
            ax.plot([x for x, _ in points], [max(y, floor) for _, y in points], DASHES[name], color=COLORS[name],
                    linewidth=1.8, label=LABEL[name])
        for point in estimate.break_evens:
            if point.a in lines and point.b in lines:
                y = estimate.options[point.a].monthly(point.volume) or floor
                ax.plot([point.volume], [max(y, floor)], "o", color="#222222", markersize=4, zorder=5)
                ax.annotate(f"{point.volume:,.0f}/day", (point.volume, max(y, floor)), textcoords="offset points",
                            xytext=(4, -10), fontsize=7)
        if estimate.volume:
            ax.axvline(estimate.volume, color="#555555", linestyle="--", linewidth=1,
                       label=f"now: {estimate.volume:,.0f}/day")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("queries a day")
        ax.set_ylabel(f"cost a month ({estimate.currency})")
        ax.legend(loc="upper left", frameon=False, fontsize=8)
        return to_svg(figure, "cost")
