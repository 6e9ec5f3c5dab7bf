"""gankit: train, watch, evaluate and use generative adversarial networks."""
from .version import __version__

__all__ = ["__version__", "fit", "resolve_config", "export", "load_generator", "sample", "push_to_hub"]


def __getattr__(name: str):
    """Lazy import for start-up: ``import gankit`` (and so the CLI's parser) must not pull in torch;
    the API functions load on first use."""
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'gankit' has no attribute {name!r}")
