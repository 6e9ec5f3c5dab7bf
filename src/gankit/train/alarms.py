"""Alarms that tell a user their run is in trouble (SPEC §3): each fires once, with advice."""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from ..metrics.coverage import class_diversity, mean_pairwise_distance, nearest_neighbour_ratio


COLLAPSE_ADVICE = ("try --aug ada, a lower learning rate, a different loss (wgan-gp, lsgan), "
                   "or the best checkpoint (gankit export --which best).")


class Alarms:
    """Mode collapse (from samples), discriminator domination (from D accuracy and the G loss),
    divergence (reported by the engine). ``classify`` maps images to class ids when a domain
    classifier exists for the data. On labelled data collapse is also judged within each class
    (asked for by a conditional G, or named by the classifier): a G that draws one image per class
    covers every class. Without labels it is judged by the distance from each sample to its nearest
    neighbour in the grid (a G that repeats a few images keeps the grid's overall spread but not
    that) and by the grid's overall spread."""

    def __init__(self, cfg_monitor, classify: Callable[[Tensor], Tensor] | None = None):
        self.cfg, self.classify = cfg_monitor, classify
        self.fired: dict[str, dict] = {}
        self.streak: list[tuple[float, float]] = []  # (acc_fake, loss_G) for consecutive dominated intervals

    def _fire(self, name: str, step: int, message: str) -> str | None:
        if name in self.fired:
            return None
        self.fired[name] = {"step": step, "message": message}
        return message

    def on_logs(self, step: int, logs: dict[str, float]) -> list[str]:
        acc, g_loss = logs.get("d/acc_fake"), logs.get("loss/G")
        if acc is None or g_loss is None:
            return []
        if acc >= self.cfg.domination_acc:
            self.streak.append((acc, g_loss))
        else:
            self.streak.clear()
        n = self.cfg.domination_intervals
        if len(self.streak) >= n and self.streak[-1][1] > self.streak[-n][1]:
            msg = (f"discriminator domination at step {step}: D rejects {100 * acc:.1f}% of fakes for {n} log "
                   f"intervals while the G loss rose {self.streak[-n][1]:.3f} -> {g_loss:.3f}. D has won and G gets "
                   "no useful gradient: lower D's learning rate, raise train.n_g, try --aug ada, or a softer loss (lsgan, hinge).")
            return [m for m in [self._fire("domination", step, msg)] if m]
        return []

    def on_samples(self, step: int, samples: Tensor, real: Tensor, labels: Tensor | None = None,
                   real_labels: Tensor | None = None) -> list[str]:
        """``labels``: the class each sample was asked for (conditional G); ``real_labels``: the
        classes of ``real``, which lets the classifier's verdicts be checked within each class too."""
        if step < self.cfg.collapse_after:
            return []
        if labels is not None:
            return self._within_classes(step, samples, labels, real, real_labels, "asked for one class",
                                        "G ignores z and draws about one image per label: lower G's learning rate, "
                                        "drop G's hidden FC layer (model.g_fc=0), try --aug ada, or use the best checkpoint.")
        if samples.ndim == 4 and self.classify is not None:
            predicted = self.classify(samples)
            classes = torch.unique(predicted).numel()
            if classes < self.cfg.collapse_classes:
                msg = (f"mode collapse at step {step}: samples cover only {classes} class(es) by the domain classifier. "
                       f"G maps different z to the same few outputs: {COLLAPSE_ADVICE}")
                return [m for m in [self._fire("collapse", step, msg)] if m]
            if real_labels is not None:
                fired = self._within_classes(step, samples, predicted, real, real_labels, "of one class (by the domain classifier)",
                                             f"G draws a few images per class: {COLLAPSE_ADVICE}")
                if fired:
                    return fired
        if samples.ndim == 4:
            ratio = nearest_neighbour_ratio(samples, real)
            if ratio is not None and ratio < self.cfg.collapse_nearest:
                msg = (f"mode collapse at step {step}: for their spread, samples lie {ratio:.1%} as far from their "
                       f"nearest neighbour in the grid as real images do (threshold {self.cfg.collapse_nearest:.0%}). "
                       f"G draws a few images over and over: {COLLAPSE_ADVICE}")
                return [m for m in [self._fire("collapse", step, msg)] if m]
        d_fake, d_real = mean_pairwise_distance(samples, 256), mean_pairwise_distance(real, 256)
        if d_real > 0 and d_fake < self.cfg.collapse_diversity * d_real:
            msg = (f"mode collapse at step {step}: sample diversity is {d_fake / d_real:.1%} of real data's "
                   f"(threshold {self.cfg.collapse_diversity:.0%}). G maps different z to the same few outputs: "
                   f"{COLLAPSE_ADVICE}")
            return [m for m in [self._fire("collapse", step, msg)] if m]
        return []

    def _within_classes(self, step, samples, labels, real, real_labels, which: str, advice: str) -> list[str]:
        ratio = class_diversity(samples, labels, real, real_labels)
        if ratio is None or ratio >= self.cfg.collapse_class_diversity:
            return []
        msg = (f"mode collapse within classes at step {step}: samples {which} vary {ratio:.1%} as much as real "
               f"images of that class (threshold {self.cfg.collapse_class_diversity:.0%}). {advice}")
        return [m for m in [self._fire("collapse", step, msg)] if m]

    def on_divergence(self, step: int, message: str) -> str | None:
        return self._fire(f"divergence@{step}", step, message)

    def state_dict(self) -> dict:
        return {"fired": self.fired, "streak": [list(s) for s in self.streak]}

    def load_state_dict(self, s: dict) -> None:
        self.fired = dict(s["fired"])
        self.streak = [tuple(v) for v in s["streak"]]
