"""Evaluation: feature extractors, FID/KID/precision-recall, mode coverage, PSNR/SSIM."""
from .classifier import DigitClassifier, default_digit_classifier, train_digit_classifier
from .coverage import (class_coverage, class_diversity, histogram_entropy, kl_to_uniform, mean_pairwise_distance,
                       nearest_neighbour_ratio, stacked_coverage, toy2d_coverage)
from .distances import feature_stats, fid_from_features, frechet_distance, kid, precision_recall
from .inception import InceptionFeatures
from .paired import paired_metrics

__all__ = ["DigitClassifier", "default_digit_classifier", "train_digit_classifier", "class_coverage", "class_diversity",
           "histogram_entropy", "kl_to_uniform", "mean_pairwise_distance", "nearest_neighbour_ratio", "stacked_coverage", "toy2d_coverage",
           "feature_stats", "fid_from_features", "frechet_distance", "kid", "precision_recall", "InceptionFeatures",
           "paired_metrics"]
