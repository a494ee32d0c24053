"""The report as one self-contained HTML file beside the markdown, rendered from the markdown
the report writes by markdown-it-py (CommonMark with tables), so the two can never show
different numbers. Raw HTML in the markdown is not passed through (markdown-it's `html`
option is off): every text a record carries reaches the page escaped. A figure line is
embedded as a base64 PNG only when it names a figure the report drew (`report_figure`);
any other image is shown as its path, never fetched or read. Tables sort on a click. Nothing
is fetched from a network."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from html import escape
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_block import StateBlock
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from harness.report.render.html_assets import CSS, JS

FIGURE = re.compile(r"!\[([^\]]*)\]\(([^)]+)\)")  # a line of its own, as sections write it
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def report_figure(src: str, figures: Path) -> Path | None:
    """The file a figure line names when it may be one the report drew: a plain file name
    ending in .png directly inside the report's figure folder (`<folder>/<name>.png`, the
    folder named as the report's markdown is). Any other path (absolute, another folder,
    `..`, a URL) is refused without being read."""
    folder, _, name = src.partition("/")
    if folder != figures.name or not name.endswith(".png") or name.startswith("."):
        return None
    if "/" in name or "\\" in name:
        return None
    return figures / name


def figure_html(alt: str, src: str, figures: Path) -> str:
    path = report_figure(src, figures)
    if path is None or path.is_symlink():
        return (
            f'<p class="missing">figure not embedded (not drawn by this report): {escape(src)}</p>'
        )
    try:
        data = path.read_bytes()
    except OSError:
        return f'<p class="missing">figure not found: {escape(src)}</p>'
    if not data.startswith(PNG_SIGNATURE):
        return f'<p class="missing">figure not embedded (not a PNG): {escape(src)}</p>'
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'<figure><img alt="{escape(alt)}" src="data:image/png;base64,{encoded}">'
        f"<figcaption>{escape(alt)}</figcaption></figure>"
    )


def _figure_block(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """A line that is one image, `![alt](src)`: a figure, whose src is kept as written."""
    if state.sCount[start] - state.blkIndent >= 4:
        return False
    line = state.src[state.bMarks[start] + state.tShift[start] : state.eMarks[start]]
    found = FIGURE.fullmatch(line.strip())
    if found is None:
        return False
    if not silent:
        token = state.push("figure", "", 0)
        token.map = [start, start + 1]
        token.meta = {"alt": found.group(1), "src": found.group(2)}
        state.line = start + 1
    return True


def _figure(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    meta = tokens[idx].meta
    return figure_html(meta["alt"], meta["src"], env["figures"]) + "\n"


def _image(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """An image inside running text: not one the report drew, so never loaded."""
    src = str(tokens[idx].attrGet("src") or "")
    return f'<span class="missing">image not embedded: {escape(src)}</span>'


def _heading_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    tokens[idx].attrSet("id", slug(tokens[idx + 1].content))
    return self.renderToken(tokens, idx, options, env)


def _th_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    tokens[idx].attrSet("tabindex", "0")
    tokens[idx].attrSet("title", "click to sort")
    return self.renderToken(tokens, idx, options, env)


def _table_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return '<div class="table-wrap"><table class="sortable">\n'


def _table_close(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    empty = "<tbody></tbody>\n" if tokens[idx - 1].type == "thead_close" else ""
    return empty + "</table></div>\n"


def parser() -> MarkdownIt:
    """CommonMark with tables; raw HTML off, so it renders as escaped text."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "xhtmlOut": False})
    md.enable("table")
    md.block.ruler.before("paragraph", "figure", _figure_block, {"alt": ["paragraph"]})
    for name, rule in (
        ("figure", _figure),
        ("image", _image),
        ("heading_open", _heading_open),
        ("th_open", _th_open),
        ("table_open", _table_open),
        ("table_close", _table_close),
    ):
        md.add_render_rule(name, rule)
    return md


def to_html(markdown: str, figures: Path) -> str:
    """The whole page; figure lines are read from the report's figure folder `figures`."""
    md = parser()
    env: EnvType = {"figures": figures}
    tokens = md.parse(markdown, env)
    nav = [
        (slug(tokens[i + 1].content), tokens[i + 1].content)
        for i, t in enumerate(tokens)
        if t.type == "heading_open" and t.tag == "h2"
    ]
    first = markdown.splitlines()[0].lstrip("# ").strip() if markdown else "limitbench report"
    links = "".join(f'<a href="#{a}">{escape(t)}</a>' for a, t in nav)
    body: str = md.renderer.render(tokens, md.options, env)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,"><title>{escape(first)}</title>'
        f"<style>{CSS}</style></head>\n<body><nav>{links}</nav><main>\n"
        + body
        + f"</main><script>{JS}</script></body></html>\n"
    )


def html_path(markdown_path: Path) -> Path:
    return markdown_path.with_suffix(".html")


def write_html(markdown: str, markdown_path: Path) -> Path:
    target = html_path(markdown_path)
    target.write_text(to_html(markdown, markdown_path.with_suffix("")), encoding="utf-8")
    return target
