"""Training engine: loop, schedule, checkpoints, monitors, alarms, logging, distributed."""

__all__ = ["Trainer"]


def __getattr__(name: str):
    """Lazy import for start-up: ``gankit.train.distributed`` (device choice) must not load the engine,
    whose alarms pull in the metrics and torchmetrics."""
    if name == "Trainer":
        from .engine import Trainer

        return Trainer
    raise AttributeError(f"module 'gankit.train' has no attribute {name!r}")
