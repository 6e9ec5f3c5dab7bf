"""The cheap metric the engine computes every ``eval.every`` iterations (``eval.metric``).

Names: ``mnist-fid`` (FID in the digit classifier's feature space against the MNIST test split),
``classes`` (class histogram of samples: covered, KL to uniform), ``toy2d-modes`` (PacGAN mode
coverage), ``recipe:KEY`` (a number the recipe computes in ``evaluate()``, e.g. ``recipe:val_l1``).
The returned ``value`` is the headline number that ranks checkpoints (``eval.best_mode``).
"""
from __future__ import annotations

from ..errors import GankitError
from .classifier import default_digit_classifier, weights_sha256
from .coverage import class_coverage, toy2d_coverage
from .distances import fid_from_features
from .reference import cached_features, real_images


def _classifier(cfg, device):
    clf = default_digit_classifier(cfg.eval.classifier, device)
    if clf is None:
        raise GankitError("this metric needs a digit classifier: run `gankit train-classifier --data mnist "
                          "--data-root PATH` once, or set eval.classifier=DIR")
    return clf


def mnist_fid(recipe, G, cfg) -> dict:
    clf = _classifier(cfg, recipe.device)
    fake = recipe.sample(G, cfg.eval.n).to(recipe.device)
    real = cached_features({"data": "mnist", "split": "test", "extractor": "digit-classifier",
                            "classifier": weights_sha256(clf), "n": 10000},
                           lambda: _feats(clf, real_images({**cfg.data, "name": "mnist"}, "test", None).to(recipe.device)))
    fid = fid_from_features(real, _feats(clf, fake))
    return {"value": fid, "mnist_fid": fid}


def _feats(clf, x):
    import torch
    clf.eval()
    with torch.no_grad():
        return torch.cat([clf.features(x[i:i + 1000]).double().cpu() for i in range(0, len(x), 1000)]).numpy()


def classes(recipe, G, cfg) -> dict:
    clf = _classifier(cfg, recipe.device)
    cov = class_coverage(clf.predict(recipe.sample(G, cfg.eval.n).to(recipe.device)).cpu())
    return {"value": cov["kl_uniform"], "classes_covered": cov["classes_covered"], "kl_uniform": cov["kl_uniform"]}


def toy2d_modes(recipe, G, cfg) -> dict:
    """value = modes missed + share of low-quality samples (lower is better; coverage dominates)."""
    cov = toy2d_coverage(recipe.sample(G, cfg.eval.n), cfg.data.name)
    return {"value": cov["modes_total"] - cov["modes"] + 1 - cov["high_quality"], "modes": cov["modes"],
            "high_quality": cov["high_quality"], "reverse_kl": cov["reverse_kl"]}


TRAIN_METRICS = {"mnist-fid": mnist_fid, "classes": classes, "toy2d-modes": toy2d_modes}


def compute_train_metric(name: str, recipe, G, cfg) -> dict[str, float]:
    """The recipe's own numbers (``evaluate``) plus the named metric, with its ``value``."""
    values = dict(recipe.evaluate(G))
    if name.startswith("recipe:"):
        key = name.split(":", 1)[1]
        if key not in values:
            raise GankitError(f"eval.metric {name}: recipe '{cfg.recipe}' reports {sorted(values) or 'nothing'}")
        values["value"] = values[key]
        return values
    if name not in TRAIN_METRICS:
        raise GankitError(f"unknown eval.metric '{name}'; choose {', '.join(TRAIN_METRICS)} or recipe:KEY")
    values.update(TRAIN_METRICS[name](recipe, G, cfg))
    return values
