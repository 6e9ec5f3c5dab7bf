"""gankit: train, watch, evaluate and use generative adversarial networks."""
__version__ = "0.1.0"

from .api import export, fit, load_generator, push_to_hub, resolve_config, sample  # noqa: E402

__all__ = ["__version__", "fit", "resolve_config", "export", "load_generator", "sample", "push_to_hub"]
