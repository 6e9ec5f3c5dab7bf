"""Semi-supervised GAN (Salimans et al. 2016, §5; Odena 2016; SPEC §5).

D is a (K+1)-way classifier: K class logits l(x), the "fake" logit fixed at 0, so that
p(k | x, real) = softmax(l)_k and D(x) = p(real | x) = sigmoid(lse(l)) (see losses/semisupervised.py).

Algorithm, with L a labelled subset of ``data.labels_per_class`` examples per class, drawn once from
the seed and saved as ``labelled_subset.json`` in the run directory:
  for n_d steps:  x_l, y_l ~ L;  x_u ~ all training images, without labels;  z ~ N(0, I)
                  L_D = L_supervised(D(x_l), y_l) + w · L_unsupervised(D(x_u), D(G(z)))      [G frozen]
  for n_g steps:  x_u ~ all training images;  z ~ N(0, I)
                  L_G = ||E f(x_u) - E f(G(z))||²  (feature matching, f = D's last hidden layer)
                        or -E log D(G(z))  (loss.feature_matching: false)                      [D frozen]
D is the product. As in the authors' code, the classifier that is tested is an exponential moving
average of D's weights (``train.d_ema``; 0 = the raw D): every eval interval its accuracy on the
held-out test split is logged (``eval/test_acc``; the raw D's as ``eval/test_acc_raw``), and
``export`` writes it beside the generator as a classifier.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import Tensor

from ..config import Config, recipe_defaults
from ..data import Loader, build_dataset, to_float
from ..errors import GankitError
from ..losses.semisupervised import feature_matching, sgan_d_unsupervised, sgan_g_nonsaturating, sgan_supervised
from ..nets.mlp import MLPGenerator
from ..nets.sgan import NoisyMLPClassifier
from ..nets.averaging import ema_model
from ..metrics.d_stats import d_stats
from .base import Phase, Recipe, StepOut

SUBSET_FILE = "labelled_subset.json"
CLASSIFIER_DIR = "classifier"


def choose_labelled(y: Tensor, per_class: int, seed: int) -> Tensor:
    """Sorted indices of ``per_class`` examples of every class, drawn by a generator seeded with ``seed``
    (the same seed gives the same subset, whatever else the run does with its RNG)."""
    g = torch.Generator().manual_seed(seed)
    picks = []
    for k in range(int(y.max()) + 1):
        members = torch.nonzero(y == k).squeeze(1)
        if len(members) < per_class:
            raise GankitError(f"data.labels_per_class={per_class}, but class {k} has only {len(members)} examples")
        picks.append(members[torch.randperm(len(members), generator=g)[:per_class]])
    return torch.cat(picks).sort().values


# gan-network keys that sgan's config inherits (from configs/gan.yaml) and never reads
UNUSED_GAN_KEYS = ("pack", "d_act", "d_norm", "d_cond", "g_width", "d_width", "g_fc", "d_fc")


class SGAN(Recipe):
    batch_labels = False  # the unlabelled stream carries no label; the labelled subset has its own loader
    def __init__(self, cfg, data, device):
        super().__init__(cfg, data, device)
        self.require_kind("image")
        per_class = cfg.data.labels_per_class
        if data.y is None or not data.num_classes:
            raise GankitError(f"recipe 'sgan' needs a labelled dataset to draw its labelled subset from; "
                              f"'{cfg.data.name}' has no labels")
        if per_class < 1:
            raise GankitError(f"config key 'data.labels_per_class' must be >= 1, got {per_class}")
        self.num_classes = data.num_classes
        self.labelled = choose_labelled(data.y, per_class, cfg.seed)
        self.x_lab, self.y_lab = data.x[self.labelled], data.y[self.labelled]
        tiled = max(1, math.ceil(cfg.train.batch_size / len(self.labelled)))  # Salimans tile L to a full batch
        self.lab_loader = Loader(len(self.labelled) * tiled, cfg.train.batch_size, cfg.seed + 7177)

        m = cfg.model
        if m.arch != "mlp":
            raise GankitError(f"recipe 'sgan' has one architecture (Salimans et al.'s MNIST MLPs): model.arch must be mlp, got {m.arch!r}")
        inherited = recipe_defaults("gan")["model"]
        for key in UNUSED_GAN_KEYS:
            if m[key] != inherited[key]:
                raise GankitError(f"config key 'model.{key}' is not used by recipe 'sgan' (its D is Salimans et al.'s "
                                  f"noisy MLP: see model.d_widths, model.d_input_noise, model.d_hidden_noise); got {m[key]!r}")
        shape = (data.channels, data.image_size, data.image_size)
        self.G = MLPGenerator(m.z_dim, shape, m.g_widths, m.g_norm, m.g_first_norm, m.g_act, "tanh")
        self.D = NoisyMLPClassifier(shape, m.d_widths, self.num_classes, m.d_input_noise, m.d_hidden_noise, m.d_weight_norm)
        self.player("G", self.G, init=m.init, meta=self.generator_meta("noise", z_dim=m.z_dim, num_classes=0))
        init_batch = torch.randperm(len(data), generator=torch.Generator().manual_seed(cfg.seed))[:500]
        self.D.init_from_data(to_float(data.x[init_batch]))  # weight norm's data-dependent init (Salimans et al.)
        self.player("D", self.D, meta=self.generator_meta(
            "classifier", num_classes=self.num_classes, class_names=data.class_names, labels_per_class=per_class,
            labelled=len(self.labelled)))
        decay = cfg.train.d_ema
        if not 0 <= decay < 1:
            raise GankitError(f"config key 'train.d_ema' must be in [0, 1), got {decay}")
        self.D_avg = ema_model(self.D, decay) if decay else None
        self.w_unsup = cfg.loss.unsupervised_weight
        self.test = self._test_split() if cfg.eval.metric else None

    def _test_split(self) -> tuple[Tensor, Tensor]:
        test = build_dataset(Config.wrap({**self.cfg.data, "split": "test", "limit": None}), self.cfg.seed)
        x = test.x
        if test.y is None or (x.shape == self.data.x.shape and torch.equal(x, self.data.x)):
            raise GankitError(f"dataset '{self.cfg.data.name}' has no labelled test split for eval/test_acc; "
                              "use --data mnist, or --set eval.metric=null")
        return x, test.y

    # --- the algorithm -----------------------------------------------------------------------
    def phases(self):
        return [Phase("D", self.d_step, repeat="n_d", batch="new"),
                Phase("G", self.g_step, repeat="n_g", batch="new" if self.cfg.loss.feature_matching else "none")]

    def labelled_batch(self) -> tuple[Tensor, Tensor]:
        """A batch of the labelled subset only (its own seeded, resumable order)."""
        idx = self.lab_loader.next_indices() % len(self.labelled)
        return to_float(self.x_lab[idx]).to(self.device), self.y_lab[idx].to(self.device)

    def d_step(self, batch: dict) -> StepOut:
        x_u = batch["x"]
        x_l, y_l = self.labelled_batch()
        with torch.no_grad():
            fake = self.G(self.noise(x_u.shape[0]))
        lab_logits = self.D(x_l)
        both = self.D(torch.cat([x_u, fake]))  # no batch statistics in D: one pass for both
        unl_logits, fake_logits = both[:x_u.shape[0]], both[x_u.shape[0]:]
        loss_sup = sgan_supervised(lab_logits, y_l)
        loss_unsup = sgan_d_unsupervised(unl_logits, fake_logits)
        logs = d_stats(torch.logsumexp(unl_logits, 1), torch.logsumexp(fake_logits, 1))  # D(x) = sigmoid(lse)
        logs.update({"sgan/loss_supervised": loss_sup.detach(), "sgan/loss_unsupervised": loss_unsup.detach(),
                     "sgan/acc_labelled": (lab_logits.argmax(1) == y_l).float().mean()})
        return StepOut.judged({"D": loss_sup + self.w_unsup * loss_unsup}, logs)

    def g_step(self, batch: dict | None) -> StepOut:
        n = self.cfg.train.batch_size
        fake = self.G(self.noise(n))
        if batch is None:
            return StepOut({"G": sgan_g_nonsaturating(self.D(fake))})
        return StepOut({"G": feature_matching(self.D.features(batch["x"]), self.D.features(fake))})

    def after_update(self, player: str) -> None:
        if player == "D" and self.D_avg is not None:
            self.D_avg.update_parameters(self.D)

    # --- evaluation, state, files --------------------------------------------------------------------
    def classifier(self) -> NoisyMLPClassifier:
        """The classifier gankit tests and exports: D's weight average, or D itself with train.d_ema 0."""
        return self.D_avg.module if self.D_avg is not None else self.D

    @torch.no_grad()
    def accuracy(self, x: Tensor, y: Tensor, net: NoisyMLPClassifier | None = None, batch_size: int = 2000) -> float:
        """Classification accuracy of ``net`` (default: :meth:`classifier`; eval mode: no noise) on uint8
        images x with labels y."""
        net = self.classifier() if net is None else net
        was = net.training
        net.eval()
        pred = torch.cat([net(to_float(x[i:i + batch_size]).to(self.device)).argmax(1).cpu()
                          for i in range(0, len(x), batch_size)])
        net.train(was)
        return float((pred == y).float().mean())

    def evaluate(self, G) -> dict[str, float]:
        if self.test is None:
            return {}
        out = {"test_acc": self.accuracy(*self.test)}
        if self.D_avg is not None:
            out["test_acc_raw"] = self.accuracy(*self.test, net=self.D)
        return out

    def run_files(self) -> dict[str, str]:
        d = self.cfg.data
        return {SUBSET_FILE: json.dumps({
            "dataset": d.name, "split": d.split, "limit": d.limit, "seed": self.cfg.seed,
            "labels_per_class": d.labels_per_class, "n_train": len(self.data),
            "indices": self.labelled.tolist(), "labels": self.y_lab.tolist()}, indent=1)}

    def state_dict(self) -> dict:
        return {"labelled": self.labelled.clone(), "lab_loader": self.lab_loader.state_dict(),
                "D_avg": self.D_avg.state_dict() if self.D_avg is not None else None}

    def load_state_dict(self, state: dict) -> None:
        if not torch.equal(state["labelled"], self.labelled):
            raise GankitError("the labelled subset differs from the checkpoint's (seed, data or "
                              "data.labels_per_class changed); resume with the run's own settings")
        self.lab_loader.load_state_dict(state["lab_loader"])
        if self.D_avg is not None:
            if state.get("D_avg") is None:
                raise GankitError("the checkpoint holds no average of D; resume with --set train.d_ema=0")
            self.D_avg.load_state_dict(state["D_avg"])

    def export(self, G, out_dir: str | Path) -> Path:
        """The generator in ``out_dir``, the classifier (D's weight average) in ``out_dir/classifier``."""
        out = G.save_pretrained(out_dir)
        self.classifier().save_pretrained(Path(out) / CLASSIFIER_DIR)
        return out
