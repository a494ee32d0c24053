"""Variants: a model plus a sorted set of knobs with a stable id."""

from harness.variants.base import KNOBS, Knob, Variant, expand_variants

__all__ = ["KNOBS", "Knob", "Variant", "expand_variants"]
