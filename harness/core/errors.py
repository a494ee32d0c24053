"""The one exception type that the CLI turns into a clear message and exit code 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path


class UserError(Exception):
    """Bad input from the user: a file, key or value we can name. Never a bug of ours."""


def close_match(word: str, choices: Iterable[str]) -> str | None:
    """The nearest of `choices` to a misspelt `word`, or None if nothing is close."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean 'x'?)' suffix, or a list of the valid names when nothing is close."""
    options = sorted(choices)
    match = close_match(word, options)
    if match is not None:
        return f" (did you mean '{match}'?)"
    return f" (expected one of: {', '.join(options)})" if options else ""


@contextmanager
def user_path(flag: str, path: Path | str) -> Iterator[None]:
    """An OSError while writing a path the user chose (a missing folder, no permission, a full
    disk) is theirs to fix: exit 2 naming the option and the path, not an internal error."""
    try:
        yield
    except OSError as err:
        reason = err.strerror or str(err)
        hint = "; free some space and run again" if err.errno == 28 else ""
        raise UserError(f"{flag} {path}: cannot write ({reason}){hint}") from None
