"""When each update runs and at what learning rate: D/G repeats with the WGAN warm-up, linear lr
decay, the rollback multiplier and the recipe's own lr scale (BEGAN's halving)."""
from __future__ import annotations


class Schedule:
    def __init__(self, cfg):
        self.train, self.optim = cfg.train, cfg.optim

    def repeats(self, key: str, it: int) -> int:
        """How many times the phase whose repeat key is ``key`` (n_d, n_g) runs at iteration ``it``:
        n_d_warmup_value for the first n_d_warmup iterations and every n_d_every-th (WGAN's critic)."""
        t = self.train
        if key == "n_d" and ((it < t.n_d_warmup) or (t.n_d_every and it % t.n_d_every == 0)):
            return t.n_d_warmup_value
        return t[key]

    def lr_factor(self, it: int) -> float:
        """1 until optim.decay_start, then linearly down to 0 at the last step (pix2pix, CycleGAN)."""
        start = self.optim.decay_start
        if start is None or it < start:
            return 1.0
        return max(0.0, 1.0 - (it - start) / max(1, self.train.steps - start))

    def set_lrs(self, opts: dict, base_lr: dict, it: int, mult: float, recipe_scale) -> None:
        f = self.lr_factor(it) * mult
        for p, opt in opts.items():
            for group in opt.param_groups:
                group["lr"] = base_lr[p] * f * recipe_scale(p)

    def sample_every(self) -> int:
        """``train.sample_every``, or for ``auto`` about ten grids a run (at most every 5,000 steps)."""
        t = self.train
        return t.sample_every if t.sample_every != "auto" else min(5000, max(1, round(t.steps / 10)))
