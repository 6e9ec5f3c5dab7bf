"""gankit: train, watch, evaluate and use generative adversarial networks."""
__version__ = "0.1.0"

from .api import export, load_generator, sample, train  # noqa: E402

__all__ = ["__version__", "train", "export", "load_generator", "sample"]
