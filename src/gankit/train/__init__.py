"""Training engine: loop, schedule, checkpoints, monitors, alarms, logging, distributed."""
from .engine import Trainer

__all__ = ["Trainer"]
