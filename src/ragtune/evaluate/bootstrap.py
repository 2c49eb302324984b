"""Percentile bootstrap confidence intervals (Efron & Tibshirani, "An Introduction to the Bootstrap", 1993).

Seeded, so a report is reproducible; paired resampling for differences between two conditions on the same items.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

DEFAULT_RESAMPLES = 2000


def bootstrap_ci(values: Sequence[float], *, confidence: float = 0.95, resamples: int = DEFAULT_RESAMPLES,
                 seed: int = 0) -> tuple[float, float]:
    """CI of the mean of ``values``."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        raise ValueError("bootstrap of an empty sample")
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    alpha = (1 - confidence) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def paired_bootstrap_diff(a: Sequence[float], b: Sequence[float], *, confidence: float = 0.95,
                          resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> tuple[float, float, float]:
    """(mean(a - b), lo, hi): the same resampled items for both conditions, so item difficulty cancels."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.size == 0:
        raise ValueError("paired bootstrap needs two non-empty samples of equal length")
    diff = x - y
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, size=(resamples, diff.size))].mean(axis=1)
    alpha = (1 - confidence) / 2
    return float(diff.mean()), float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95% bootstrap CI over ``n`` items: the one shape every reported score takes, in
    ``eval answers`` metrics and ``diagnose`` conditions alike."""

    value: float
    ci95: tuple[float, float]
    n: int

    def to_json(self) -> dict:
        return {"value": round(self.value, 4), "ci95": [round(self.ci95[0], 4), round(self.ci95[1], 4)], "n": self.n}


def estimate(values: Sequence[float], *, seed: int = 0) -> Estimate:
    return Estimate(sum(values) / len(values), bootstrap_ci(values, seed=seed), len(values))
