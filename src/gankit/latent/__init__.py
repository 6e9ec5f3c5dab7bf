"""Latent-space tools that need only an exported generator: interpolation, inversion (embedding
real images), attribute arithmetic and variations (SPEC §6)."""
from .arithmetic import arithmetic, resolve_term
from .interpolate import interpolate, lerp, slerp
from .invert import InversionResult, invert
from .vary import vary

__all__ = ["lerp", "slerp", "interpolate", "invert", "InversionResult", "arithmetic", "resolve_term", "vary"]
