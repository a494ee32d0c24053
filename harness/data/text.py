"""Plain-text corpora for perplexity: files, lines, paragraphs or size-bounded chunks."""

from __future__ import annotations

import bz2
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from harness.core.errors import UserError
from harness.data.base import Sample, SourceOptions, make_sample, read_text, register_loader


class TextOptions(SourceOptions):
    glob: str = "*.txt"
    split: Literal["file", "line", "paragraph", "chunk"] = "line"
    chunk_chars: int = 2000
    min_chars: int = 1


class WikiXmlOptions(TextOptions):
    split: Literal["file", "line", "paragraph", "chunk"] = "file"
    max_pages: int | None = None


def split_text(text: str, how: str, chunk_chars: int, min_chars: int) -> list[str]:
    """Documents from one text; `chunk` packs whole paragraphs up to `chunk_chars`."""
    if how == "file":
        parts = [text.strip()]
    elif how == "line":
        parts = [line.strip() for line in text.splitlines()]
    else:
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text)]
        parts = paragraphs if how == "paragraph" else _pack(paragraphs, chunk_chars)
    return [p for p in parts if len(p) >= min_chars]


def _pack(paragraphs: list[str], limit: int) -> list[str]:
    chunks: list[str] = []
    current = ""
    for para in paragraphs:
        if current and len(current) + len(para) + 2 > limit:
            chunks.append(current)
            current = ""
        current = f"{current}\n\n{para}" if current else para
    if current:
        chunks.append(current)
    return chunks


def _files(path: Path, pattern: str) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob(pattern) if p.is_file())
    if not files:
        raise UserError(f"{path}: no files match 'source.glob' = '{pattern}'")
    return files


@register_loader("text", TextOptions)
def load_text(options: TextOptions, path: Path) -> list[Sample]:
    rows = []
    for file in _files(path, options.glob):
        text = read_text(file, options.encoding)
        for doc in split_text(text, options.split, options.chunk_chars, options.min_chars):
            rows.append(make_sample({"text": doc, "file": file.name}))
    return rows


_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")
_LINK = re.compile(r"\[\[(?:[^|\]]*\|)?([^\]]*)\]\]")
_REF = re.compile(r"<ref[^>]*?/>|<ref[^>]*>.*?</ref>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_QUOTES = re.compile(r"'{2,}")


def clean_wikitext(text: str) -> str:
    """Light markup removal: templates, refs, tags, link brackets, bold/italic quotes."""
    previous = None
    while previous != text:  # templates nest; peel innermost first
        previous, text = text, _TEMPLATE.sub("", text)
    text = _REF.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _TAG.sub("", text)
    text = _QUOTES.sub("", text)
    lines = [ln for ln in text.splitlines() if not ln.startswith(("{|", "|", "!", "[[Category"))]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _pages(path: Path) -> Iterator[tuple[str, str]]:
    opener = bz2.open if path.suffix == ".bz2" else open
    with opener(path, "rb") as handle:
        title = ""
        for _, elem in ET.iterparse(handle):
            tag = elem.tag.rsplit("}", 1)[-1]
            if tag == "title":
                title = elem.text or ""
            elif tag == "text":
                yield title, elem.text or ""
            elif tag == "page":
                elem.clear()


@register_loader("wikixml", WikiXmlOptions)
def load_wikixml(options: WikiXmlOptions, path: Path) -> list[Sample]:
    """MediaWiki XML dumps (optionally .bz2); redirects are skipped."""
    rows = []
    try:
        for title, raw in _pages(path):
            if raw.lstrip().upper().startswith("#REDIRECT"):
                continue
            text = clean_wikitext(raw)
            for doc in split_text(text, options.split, options.chunk_chars, options.min_chars):
                rows.append(make_sample({"text": doc, "title": title}))
            if options.max_pages is not None and len(rows) >= options.max_pages:
                break
    except (ET.ParseError, OSError, EOFError) as err:
        raise UserError(f"{path}: not a readable MediaWiki XML dump ({err})") from None
    return rows
