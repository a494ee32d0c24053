"""The report as one self-contained HTML file beside the markdown. It is converted from the
markdown the report writes (headings, paragraphs, nested lists, tables, figures, code and
emphasis: the subset render produces), so the two can never show different numbers; figures
are embedded as base64 PNGs and tables sort on a click. Nothing is fetched from a network."""

from __future__ import annotations

import base64
import re
from html import escape
from pathlib import Path

from harness.report.html_assets import CSS, JS

IMAGE = re.compile(r"^!\[([^\]]*)\]\(([^)]+)\)$")
BULLET = re.compile(r"^( *)- (.*)$")
BOLD = re.compile(r"\*\*(.+?)\*\*")
ITALIC = re.compile(r"(?<![\w*])\*(?![\s*])(.+?)(?<![\s*])\*(?![\w*])")


def inline(text: str) -> str:
    """Code spans verbatim (escaped), bold and italic outside them."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick is text
        parts[-2:] = ["`".join(parts[-2:])]
    out = []
    for k, part in enumerate(parts):
        if k % 2:
            out.append(f"<code>{escape(part)}</code>")
        else:
            out.append(ITALIC.sub(r"<em>\1</em>", BOLD.sub(r"<strong>\1</strong>", escape(part))))
    return "".join(out)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def table_html(lines: list[str]) -> str:
    head, rows = _cells(lines[0]), [_cells(line) for line in lines[2:]]
    ths = "".join(f'<th tabindex="0" title="click to sort">{inline(c)}</th>' for c in head)
    body = "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f'<div class="table-wrap"><table class="sortable"><thead><tr>{ths}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def figure_html(alt: str, src: str, base_dir: Path) -> str:
    path = base_dir / src
    try:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError:
        return f'<p class="missing">figure not found: {escape(src)}</p>'
    return (
        f'<figure><img alt="{escape(alt)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{escape(alt)}</figcaption></figure>"
    )


def list_html(items: list[tuple[int, str]]) -> str:
    """Nested <ul> from (indent, text) items; deeper indents nest under the item before."""
    out: list[str] = []
    depth = [-1]
    for indent, text in items:
        if indent > depth[-1]:
            out.append("<ul>")
            depth.append(indent)
        else:
            while indent < depth[-1]:
                out.append("</li></ul>")
                depth.pop()
            out.append("</li>")
        out.append(f"<li>{inline(text)}")
    out.append("</li></ul>" * (len(depth) - 1))
    return "".join(out)


def blocks(markdown: str, base_dir: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """The body's HTML blocks, and (id, title) of each second-level heading for the nav."""
    lines, i = markdown.splitlines(), 0
    out: list[str] = []
    nav: list[tuple[str, str]] = []
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            title = line[level:].strip()
            anchor = slug(title)
            if level == 2:
                nav.append((anchor, title))
            out.append(f'<h{level} id="{anchor}">{inline(title)}</h{level}>')
            i += 1
        elif (image := IMAGE.match(line.strip())) is not None:
            out.append(figure_html(image.group(1), image.group(2), base_dir))
            i += 1
        else:
            kind = "|" if line.startswith("|") else "-" if BULLET.match(line) else "p"
            j = i
            while j < len(lines) and lines[j].strip() and _kind(lines[j]) == kind:
                j += 1
            out.append(_block(kind, lines[i:j]))
            i = j
    return out, nav


def _kind(line: str) -> str:
    if line.startswith("|"):
        return "|"
    if BULLET.match(line):
        return "-"
    return "#" if line.startswith("#") or IMAGE.match(line.strip()) else "p"


def _block(kind: str, lines: list[str]) -> str:
    if kind == "|":
        return table_html(lines)
    if kind == "-":
        found = [BULLET.match(line) for line in lines]
        return list_html([(len(m.group(1)), m.group(2)) for m in found if m is not None])
    return f"<p>{inline(' '.join(line.strip() for line in lines))}</p>"


def to_html(markdown: str, base_dir: Path) -> str:
    """The whole page; figures are read from paths relative to `base_dir`."""
    body, nav = blocks(markdown, base_dir)
    first = markdown.splitlines()[0].lstrip("# ").strip() if markdown else "limitbench report"
    links = "".join(f'<a href="#{a}">{escape(t)}</a>' for a, t in nav)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,"><title>{escape(first)}</title>'
        f"<style>{CSS}</style></head>\n<body><nav>{links}</nav><main>\n"
        + "\n".join(body)
        + f"\n</main><script>{JS}</script></body></html>\n"
    )


def html_path(markdown_path: Path) -> Path:
    return markdown_path.with_suffix(".html")


def write_html(markdown: str, markdown_path: Path) -> Path:
    target = html_path(markdown_path)
    target.write_text(to_html(markdown, markdown_path.parent), encoding="utf-8")
    return target
