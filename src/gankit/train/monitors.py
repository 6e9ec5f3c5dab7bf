"""r_t, the overfitting signal that drives ADA and the alarms, averaged over real batches (SPEC §3)."""
from __future__ import annotations

from collections import deque


class RtWindow:
    """r_t = E[sign(D_logit(x_real))] over the last ``window`` real batches (Karras et al. 2020)."""

    def __init__(self, window: int):
        self.values: deque[float] = deque(maxlen=window)

    def add(self, v: float) -> None:
        self.values.append(float(v))

    @property
    def value(self) -> float | None:
        return sum(self.values) / len(self.values) if self.values else None

    def state_dict(self) -> dict:
        return {"values": list(self.values)}

    def load_state_dict(self, s: dict) -> None:
        self.values.clear()
        self.values.extend(s["values"])
