"""The HTML report in a real headless browser (the system's Chromium): the page renders its
tables and decodes every embedded figure without a console error, a table sorts (asked for by
the address), and a screenshot is kept as an artifact (under the test's tmp dir, and under
$LIMITBENCH_ARTIFACTS when set). The console check is proven to catch errors on a broken
copy of the page. Skipped only when no Chromium binary is found."""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.report_runs import DEPLOY, write_deploy_run

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium")
CHROMIUM = next((found for c in CANDIDATES if (found := shutil.which(c))), None)
pytestmark = pytest.mark.skipif(
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
