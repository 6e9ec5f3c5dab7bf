"""Evaluation: feature extractors, FID/KID/precision-recall, mode coverage, PSNR/SSIM."""
import importlib

_EXPORTS = {
    "classifier": ("DigitClassifier", "default_digit_classifier", "train_digit_classifier"),
    "coverage": ("class_coverage", "class_diversity", "histogram_entropy", "kl_to_uniform", "mean_pairwise_distance",
                 "nearest_neighbour_ratio", "stacked_coverage", "toy2d_coverage"),
    "distances": ("feature_stats", "fid_from_features", "frechet_distance", "kid", "precision_recall"),
    "inception": ("InceptionFeatures",),
    "paired": ("paired_metrics",),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = list(_MODULE_OF)


def __getattr__(name: str):
    """Lazy import for start-up: loading a saved digit classifier (``gankit.metrics.classifier``, which
    every generator load registers) must not import torchmetrics, which ``paired`` needs."""
    if name in _MODULE_OF:
        return getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
    raise AttributeError(f"module 'gankit.metrics' has no attribute {name!r}")
