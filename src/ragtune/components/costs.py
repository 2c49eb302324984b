"""The economics component: what prompt-only, RAG, fine-tuning and both cost at this home's volume, from what the
home measured and the price sheet the user keeps (``--prices FILE``, else ``RAGTUNE_HOME/prices.yaml``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ragtune.economics.estimate import CostEstimate, estimate
from ragtune.economics.html import cost_section
from ragtune.economics.measure import measure
from ragtune.economics.prices import PriceSheet, read_prices
from ragtune.errors import InputError

PRICES = "prices.yaml"


@dataclass
class Economics:
    home: Path

    @property
    def default_prices(self) -> Path:
        return Path(self.home) / PRICES

    def prices(self, path: str | Path | None = None) -> PriceSheet:
        """The price sheet at ``path``, else the home's; an InputError (one line) when there is none or it is
        wrong."""
        if path is None:
            if not self.default_prices.is_file():
                raise InputError(f"no price sheet: pass --prices FILE or put one at {self.default_prices} (start "
                                 "from examples/prices.yaml; its numbers are examples)")
            path = self.default_prices
        return read_prices(path)

    def latest_verdict(self) -> tuple[str | None, str | None]:
        """The newest diagnose run's verdict and that run's file name (None, None when there is none)."""
        runs = Path(self.home) / "runs"
        paths = sorted(runs.glob("diagnose-*.json"), key=lambda p: p.stat().st_mtime, reverse=True) \
            if runs.is_dir() else []
        for path in paths:
            try:
                verdict = json.loads(path.read_text()).get("verdict")
            except (OSError, ValueError, AttributeError):
                continue
            if isinstance(verdict, str):
                return verdict, path.name
        return None, None

    def estimate(self, prices: str | Path | PriceSheet | None = None, *, volume: float | None = None,
                 sweep: tuple[float, float] | None = None, verdict: str | None = None) -> CostEstimate:
        """Costs per option at ``volume`` queries a day (else the sheet's, else the audit log's), break-evens and
        one recommendation; the quality side is ``verdict``, else the newest diagnose run's."""
        sheet = prices if isinstance(prices, PriceSheet) else self.prices(prices)
        if volume is not None and volume < 0:
            raise InputError(f"--volume {volume:g}: queries a day cannot be negative")
        verdict_from = "diagnose (this run)" if verdict is not None else None
        if verdict is None:
            verdict, verdict_from = self.latest_verdict()
        return estimate(sheet, measure(Path(self.home)), volume=volume, sweep=sweep, verdict=verdict,
                        verdict_from=verdict_from)

    def report_section(self, sheet: PriceSheet | None, verdict: str) -> str:
        """The diagnose report's cost section (a note instead when there is no price sheet)."""
        if sheet is None:
            return cost_section(None, f"No price sheet, so no costs: pass --prices FILE to diagnose or put one at "
                                      f"{self.default_prices} (start from examples/prices.yaml) and run "
                                      "`ragtune cost`.")
        return cost_section(self.estimate(sheet, verdict=verdict))
