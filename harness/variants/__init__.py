"""Variants: a model plus a sorted set of knobs with a stable id."""

from harness.variants.base import KNOBS, Knob, Variant, expand_variants

# Importing the module registers the transform knobs.
from harness.variants import knobs as _knobs  # noqa: F401  isort: skip

__all__ = ["KNOBS", "Knob", "Variant", "expand_variants"]
