"""Duration against memory: two models that respect Lambda's CPU share, and the choice between them.

- ``cpu-share``: d(m) = a + b / min(1, m / 1769) = a + b x max(1, 1769 / m). CPU is memory /
  1769 MB of a core up to one full vCPU (FACTS.md), so single-threaded CPU work b (ms at a full
  core) stretches by 1769 / m below it and stays flat above; a is what does not scale (waiting,
  I/O). (The issue writes b x min(1, 1769 / m), which falls above 1769 MB and is flat below:
  the inverse of the physics; this is the share it means.) Fitted by non-negative least squares
  (scipy.optimize.nnls): both parts are times.
- ``parrotfish``: d(m) = a0 + a1 x exp(-m / a2), the model of Parrotfish (Moghimi et al.,
  SoCC 2023), fitted by bounded least squares (scipy.optimize.curve_fit).

Each size's point is its mean, weighted by its count. The model with the lower AICc (small-
sample Akaike) wins. AICc needs more points than parameters plus one, so the cpu-share model
is scored from three sizes and Parrotfish's from five; below that the other one stands alone. ``relative_error``
is the fit's weighted RMS relative residual: how far a prediction at an unsampled size may be
off, which the adaptive mode widens into the margin it must rule a size out by.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from bench.awsfacts import MB_PER_VCPU

CPU_SHARE = "cpu-share"
PARROTFISH = "parrotfish"


@dataclass(frozen=True)
class Fit:
    """A fitted model of duration (ms) against memory (MB)."""

    name: str
    params: tuple[float, ...]
    aicc: float
    relative_error: float  # weighted RMS of (observed - fitted) / fitted at the points
    points: int

    def predict(self, memory_mb: float) -> float:
        if self.name == CPU_SHARE:
            a, b = self.params
            return a + b * max(1.0, MB_PER_VCPU / memory_mb)
        a0, a1, a2 = self.params
        return a0 + a1 * math.exp(-memory_mb / a2)

    def formula(self) -> str:
        if self.name == CPU_SHARE:
            a, b = self.params
            return f"{a:.4g} + {b:.4g} x max(1, 1769/m) ms"
        a0, a1, a2 = self.params
        return f"{a0:.4g} + {a1:.4g} x exp(-m/{a2:.4g}) ms"

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "formula": self.formula(),
            "params": list(self.params),
            "aicc": self.aicc,
            "relative_error": self.relative_error,
            "points": self.points,
        }


def fit_cpu_share(memory: Sequence[float], mean_ms: Sequence[float], counts: Sequence[int]) -> Fit | None:
    """a + b x max(1, 1769/m) through the points, a, b >= 0; None below two distinct sizes."""
    m, y, w = _arrays(memory, mean_ms, counts)
    if np.unique(m).size < 2:
        return None
    share = np.maximum(1.0, MB_PER_VCPU / m)
    design = np.column_stack([np.ones_like(m), share]) * np.sqrt(w)[:, None]
    params, _ = optimize.nnls(design, y * np.sqrt(w))
    return _scored(CPU_SHARE, (float(params[0]), float(params[1])), m, y, w)


def fit_parrotfish(memory: Sequence[float], mean_ms: Sequence[float], counts: Sequence[int]) -> Fit | None:
    """a0 + a1 x exp(-m/a2) through the points; None below five distinct sizes or when it fails."""
    m, y, w = _arrays(memory, mean_ms, counts)
    if np.unique(m).size < 5:
        return None

    def curve(x: np.ndarray, a0: float, a1: float, a2: float) -> np.ndarray:
        return a0 + a1 * np.exp(-x / a2)

    start = (float(y.min()), float(max(y.max() - y.min(), 1e-6)) * math.e, float(np.median(m)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params, _ = optimize.curve_fit(
                curve, m, y, p0=start, sigma=1 / np.sqrt(w), bounds=([0, 0, 16], [np.inf, np.inf, 1e5]), maxfev=5000
            )
    except (RuntimeError, ValueError):
        return None
    return _scored(PARROTFISH, tuple(float(p) for p in params), m, y, w)


def best_fit(memory: Sequence[float], mean_ms: Sequence[float], counts: Sequence[int]) -> Fit | None:
    """The better of the two models by AICc; None when neither can be fitted."""
    fits = [f for f in (fit_cpu_share(memory, mean_ms, counts), fit_parrotfish(memory, mean_ms, counts)) if f]
    return min(fits, key=lambda f: f.aicc) if fits else None


def _arrays(memory: Sequence[float], mean_ms: Sequence[float], counts: Sequence[int]) -> tuple[np.ndarray, ...]:
    m, y, w = (np.asarray(v, dtype=float) for v in (memory, mean_ms, counts))
    if not (m.shape == y.shape == w.shape) or np.any(m <= 0) or np.any(w <= 0):
        raise ValueError("memory, means and counts must be equally long, memory and counts > 0")
    return m, y, w


def _scored(name: str, params: tuple[float, ...], m: np.ndarray, y: np.ndarray, w: np.ndarray) -> Fit:
    fit = Fit(name, params, math.inf, 0.0, int(m.size))
    fitted = np.array([fit.predict(x) for x in m])
    residual = y - fitted
    rss = float(np.sum(w * residual**2) / np.sum(w))
    k, n = len(params), int(m.size)
    # AICc on the weighted mean squared residual; a perfect fit is floored so logs stay finite.
    aicc = n * math.log(max(rss, 1e-12)) + 2 * k + (2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else math.inf)
    relative = residual / np.maximum(np.abs(fitted), 1e-9)
    error = float(math.sqrt(np.sum(w * relative**2) / np.sum(w)))
    return Fit(name, params, aicc, error, n)
