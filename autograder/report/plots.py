"""The class report's plots, drawn with matplotlib's Agg canvas (no pyplot, no display,
no global state) and returned as base64 PNG so pages embed them."""
from __future__ import annotations

import base64
import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

ACCENT = "#2b6cb0"


def _png(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def score_histogram(totals: list[float], max_score: float) -> str:
    fig = Figure(figsize=(6.4, 3.2))
    ax = fig.add_subplot()
    if float(max_score).is_integer() and max_score <= 30:
        bins = [x - 0.5 for x in range(int(max_score) + 2)]
    else:
        bins = 10
    ax.hist(totals, bins=bins, color=ACCENT, edgecolor="white")
    ax.set_xlabel(f"total score (out of {max_score:g})")
    ax.set_ylabel("students")
    ax.set_title("Score distribution")
    ax.yaxis.get_major_locator().set_params(integer=True)
    return _png(fig)


def pass_rates(units: list[str], rates: list[float]) -> str:
    fig = Figure(figsize=(6.4, 0.45 * len(units) + 1.0))
    ax = fig.add_subplot()
    positions = list(range(len(units)))[::-1]
    ax.barh(positions, [100 * r for r in rates], color=ACCENT)
    ax.set_yticks(positions, labels=units)
    ax.set_xlim(0, 100)
    ax.set_xlabel("students with full marks (%)")
    ax.set_title("Pass rate per unit")
    for y, r in zip(positions, rates):
        ax.text(min(100 * r + 1, 92), y, f"{100 * r:.0f}%", va="center", fontsize=8)
    return _png(fig)
