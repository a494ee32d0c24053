"""Stop sequences, shared by the backends (no torch needed)."""

from __future__ import annotations


def cut_at_stop(text: str, stops: tuple[str, ...]) -> str:
    """The text before the earliest stop sequence after the first non-blank character, so a
    model that opens with a newline is not cut to nothing by a newline stop."""
    cut = len(text)
    start = len(text) - len(text.lstrip())
    for stop in stops:
        found = text.find(stop, start)
        if found != -1:
            cut = min(cut, found)
    return text[:cut]
