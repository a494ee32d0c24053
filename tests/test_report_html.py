"""The HTML report. Read as HTML: every markdown table is a sortable table, text from records
arrives escaped (a raw <script> in a variant name never runs), and only the figures the report
drew are embedded (an image line naming any other file is not read). In a real headless
browser (the system's Chromium): the page renders its tables and decodes every embedded figure
without a console error, a table sorts (asked for by the address), and a screenshot is kept as
an artifact (under the test's tmp dir, and under $LIMITBENCH_ARTIFACTS when set). The console
check is proven to catch errors on a broken copy of the page. The browser tests are skipped
only when no Chromium binary is found."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.report.render.html import to_html
from tests.conftest import run_cli
from tests.report_runs import BASE_BYTES, BASE_SPEED, DEPLOY, Variant, write_deploy_run

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium")
CHROMIUM = next((found for c in CANDIDATES if (found := shutil.which(c))), None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium binary found (apt-get install chromium)"
)
VS_BASE, SPEED_COLUMN = 0, 7  # the first table; its input tok/s ratio column


class Dom(HTMLParser):
    """What the test reads from the dumped DOM: <body>'s attributes, each table's own
    attributes and its rows as cell texts, and the <img> count."""

    def __init__(self) -> None:
        super().__init__()
        self.body: dict[str, str | None] = {}
        self.tables: list[tuple[dict[str, str | None], list[list[str]]]] = []
        self.images = 0
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.body = dict(attrs)
        elif tag == "table":
            self.tables.append((dict(attrs), []))
        elif tag == "tr" and self.tables:
            self.tables[-1][1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.tables:
            self.tables[-1][1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def chromium(
    page: Path, tmp: Path, *flags: str, fragment: str = ""
) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        f"--user-data-dir={tmp / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
        *flags,
        page.resolve().as_uri() + fragment,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


def console_errors(stderr: str) -> list[str]:
    """Lines where the page spoke on the console or threw; this page is silent when well."""
    return [ln for ln in stderr.splitlines() if ":CONSOLE" in ln or "Uncaught" in ln]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("html")
    run = write_deploy_run(folder / "run")
    mp = pytest.MonkeyPatch()
    code = run_cli(mp, "report", str(run), "--out", str(folder / "r.md"))
    mp.undo()
    assert code == 0
    html = folder / "r.html"
    assert html.exists()
    text = html.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text  # self-contained
    return html


def _speed_order() -> list[str]:
    """The vs-base table's variants ordered by input tok/s ratio, slowest first."""
    ratios = []
    for task, variants in DEPLOY.items():
        base = sorted(variants[0].speed)[1]
        ratios += [(sorted(v.speed)[1] / base, f"{task}|{v.name}") for v in variants[1:]]
    return [name for _, name in sorted(ratios)]


@needs_chromium
def test_page_renders_tables_and_figures_and_sorts(page: Path, tmp_path: Path) -> None:
    done = chromium(page, tmp_path, "--dump-dom", fragment=f"#sort={VS_BASE}:{SPEED_COLUMN}:asc")
    assert done.returncode == 0, done.stderr[-2000:]
    assert console_errors(done.stderr) == []
    dom = Dom()
    dom.feed(done.stdout)
    assert dom.body.get("data-images") == "ok"  # set on load once every <img> decoded
    assert dom.body.get("data-image-count") == str(dom.images) and dom.images >= 2
    assert "data-errors" not in dom.body
    markdown = page.with_suffix(".md").read_text(encoding="utf-8")
    assert len(dom.tables) == markdown.count("\n|---|")  # every markdown table rendered
    attrs, rows = dom.tables[VS_BASE]
    assert attrs.get("data-sorted") == f"{SPEED_COLUMN}:asc"
    assert rows[0][SPEED_COLUMN] == "input tok/s"
    assert [f"{r[0]}|{r[1]}" for r in rows[1:]] == _speed_order()
    text = done.stdout
    assert "What to deploy" in text.split("Each variant against its base")[0]


@needs_chromium
def test_screenshot_is_kept_as_an_artifact(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    done = chromium(page, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000")
    assert done.returncode == 0, done.stderr[-2000:]
    assert console_errors(done.stderr) == []
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (2000, 1280)
    assert pixels.std() > 0.02  # not a blank page: text and tables drawn
    where = os.environ.get("LIMITBENCH_ARTIFACTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(where) / "report_html_screenshot.png")


@needs_chromium
def test_the_console_check_catches_a_broken_page(page: Path, tmp_path: Path) -> None:
    """The same checks on a copy with an undecodable figure and a script error: both show."""
    text = page.read_text(encoding="utf-8")
    head, rest = text.split('src="data:image/png;base64,', 1)
    broken = head + 'src="data:image/png;base64,AAAA' + rest.split('"', 1)[1]
    broken = broken.replace("</main>", "<script>notDefinedAnywhere();</script></main>")
    bad = tmp_path / "broken.html"
    bad.write_text(broken, encoding="utf-8")
    done = chromium(bad, tmp_path, "--dump-dom")
    dom = Dom()
    dom.feed(done.stdout)
    assert dom.body.get("data-images") == "broken"
    errors = console_errors(done.stderr)
    assert any("notDefinedAnywhere" in ln for ln in errors), done.stderr[-2000:]
    assert any("did not decode" in ln for ln in errors), done.stderr[-2000:]


def test_every_table_is_sortable_and_every_h2_is_in_the_nav(page: Path) -> None:
    dom = Dom()
    dom.feed(page.read_text(encoding="utf-8"))
    markdown = page.with_suffix(".md").read_text(encoding="utf-8")
    assert len(dom.tables) == markdown.count("\n|---|") >= 2
    assert all(attrs.get("class") == "sortable" for attrs, _ in dom.tables)
    assert dom.tables[VS_BASE][1][0][SPEED_COLUMN] == "input tok/s"
    text = page.read_text(encoding="utf-8")
    nav = text.split("<nav>", 1)[1].split("</nav>", 1)[0]
    headings = [ln[3:] for ln in markdown.splitlines() if ln.startswith("## ")]
    assert nav.count("<a href=") == len(headings) and "What to deploy" in nav
    assert text.count('title="click to sort"') == sum(len(rows[0]) for _, rows in dom.tables)


HOSTILE = "m@quant=<script>alert(1)</script>"


def test_a_raw_script_in_a_variant_name_arrives_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Raw HTML in the markdown is text on the page: markdown-it renders with `html` off."""
    hostile = Variant(HOSTILE, {"quant": "q8_0"}, 0, (120.0, 123.0, 118.0), 2125.0)
    plan = {"topic": [Variant("m", {}, 0, BASE_SPEED, BASE_BYTES), hostile]}
    run = write_deploy_run(tmp_path / "run", plan)
    assert run_cli(monkeypatch, "report", str(run), "--out", str(tmp_path / "r.md")) == 0
    assert HOSTILE in (tmp_path / "r.md").read_text(encoding="utf-8")  # the markdown keeps it
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script") == 1  # the page's own sorting script, nothing else
    injected = "## x\n\n<img src=x onerror=alert(1)>\n\n| a |\n|---|\n| <b>y</b> |\n"
    html = to_html(injected, tmp_path / "r")
    assert "<img src=x" not in html and "<b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;b&gt;y&lt;/b&gt;" in html


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def test_only_figures_the_report_drew_are_embedded(tmp_path: Path) -> None:
    """A figure line is read only as a PNG directly in the report's figure folder; a line
    naming any other file (absolute, outside the folder, not a PNG, in running text) shows
    its path and is never read."""
    figures = tmp_path / "r"
    figures.mkdir()
    (figures / "drawn.png").write_bytes(PNG)
    (figures / "notes.png").write_text("not an image", encoding="utf-8")
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG + b"SECRET")
    lines = [
        "# report",
        "![x](/etc/hostname)",
        f"![abs]({secret})",
        "![up](r/../secret.png)",
        "![other](elsewhere/drawn.png)",
        "![text](r/notes.png)",
        "![web](https://example.com/x.png)",
        "See ![inline](r/drawn.png) here.",
        "![drawn](r/drawn.png)",
    ]
    html = to_html("\n\n".join(lines) + "\n", figures)
    embedded = base64.b64encode(PNG).decode("ascii")
    assert html.count("<img") == 1 and f"base64,{embedded}" in html
    assert base64.b64encode(PNG + b"SECRET").decode("ascii") not in html
    assert 'src="https://' not in html and 'src="/etc' not in html
    for src in ("/etc/hostname", str(secret), "r/../secret.png", "elsewhere/drawn.png"):
        assert f"not drawn by this report): {src}<" in html
    assert "not a PNG): r/notes.png" in html
    assert "image not embedded: r/drawn.png" in html
