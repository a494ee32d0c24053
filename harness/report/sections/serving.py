"""The serving section: for each served model and task, one row and one curve point per load
level (latency against achieved throughput, with 95% intervals), the highest load meeting the
SLO, goodput, quality under load against quality at the lightest load, the memory the
launched server held beside limitbench's own (the client), and which levels had too few
requests for their p99."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from harness.core.perf_names import TOKEN_TOTAL_FLAG, Percentiled, PerfName, percentile_name
from harness.report.analysis.aggregate import primary_metric
from harness.report.analysis.serving import (
    P99_NEEDS,
    load_of,
    requests_of,
    served_groups,
    thin_p99,
)
from harness.report.sections.format import file_slug, fmt_bytes, fmt_number, fmt_value, table
from harness.report.sections.parts import Section, ServingFigure
from harness.run.slo_search import SearchOutcome
from harness.store.records import Record
from harness.suite.schema import SLOConfig


def _ms(record: Record, name: str) -> str:
    """Milliseconds, with the 95% interval where the level had one."""
    value = record.perf.get(name)
    if value is None:
        return "–"
    if value.ci_low is None or value.ci_high is None:
        return f"{value.value * 1000:.1f}"
    return f"{value.value * 1000:.1f} [{value.ci_low * 1000:.1f}, {value.ci_high * 1000:.1f}]"


def _perf(record: Record, name: str) -> str:
    value = record.perf.get(name)
    return fmt_number(value.value) if value is not None else "–"


def _counts(record: Record) -> str:
    server = record.perf.get(PerfName.OUTPUT_TOKENS_SERVER)
    client = record.perf.get(PerfName.OUTPUT_TOKENS_CLIENT)
    if server is None or client is None:
        return "–"
    mismatch = record.perf.get(PerfName.TOKEN_COUNT_MISMATCH)
    gap = record.perf.get(PerfName.TOKEN_TOTAL_GAP)
    flag = " ⚠" if gap is not None and gap.value > TOKEN_TOTAL_FLAG else ""
    share = f" ({mismatch.value:.0%} differ)" if mismatch is not None and mismatch.value else ""
    return f"{server.value:.0f}/{client.value:.0f}{share}{flag}"


def _quality(record: Record, base: Record) -> tuple[str, str, str]:
    metric = primary_metric(record)
    value = record.quality[metric]
    change = value.value - base.quality[metric].value
    under = record.quality.get(f"{metric}_under_slo")
    return fmt_value(value), f"{change:+.3f}", fmt_value(under) if under else "–"


def _rows(levels: Sequence[Record]) -> list[list[str]]:
    rows = []
    for record in levels:
        knob, level = load_of(record)
        quality, change, under = _quality(record, levels[0])
        met = record.perf.get(PerfName.SLO_MET)
        rows.append(
            [
                f"{knob}={level:g}",
                str(requests_of(record) or "–"),
                _perf(record, PerfName.ACHIEVED_REQUESTS_PER_S),
                _perf(record, PerfName.ACHIEVED_OUTPUT_TOKENS_PER_S),
                _perf(record, PerfName.STEADY_OUTPUT_TOKENS_PER_S),
                _counts(record),
                _perf(record, PerfName.PREFIX_CACHE_HIT_RATE),
                _ms(record, percentile_name(Percentiled.TTFT, "p50")),
                _ms(record, percentile_name(Percentiled.TTFT, "p99")),
                _ms(record, percentile_name(Percentiled.TPOT, "p50")),
                _ms(record, percentile_name(Percentiled.TPOT, "p99")),
                _attained(record),
                "yes" if met and met.value else ("no" if met else "–"),
                _perf(record, PerfName.GOODPUT),
                quality,
                change,
                under,
                _perf(record, PerfName.REQUEST_ERRORS),
            ]
        )
    return rows


def _attained(record: Record) -> str:
    value = record.perf.get(PerfName.SLO_ATTAINMENT)
    return fmt_value(value) if value is not None else "–"


def _memory(record: Record, name: str) -> str:
    value = record.perf.get(name)
    return fmt_bytes(value.value) if value is not None else "–"


def memory_table(levels: Sequence[Record]) -> str:
    """The launched server's process tree beside limitbench's own process (the client)."""
    rows = [
        [
            "{}={:g}".format(*load_of(r)),
            _memory(r, PerfName.SERVER_PEAK_RSS),
            _memory(r, PerfName.SERVER_GPU_PEAK_MEMORY),
            _memory(r, PerfName.PEAK_RSS),
        ]
        for r in levels
    ]
    if all(row[1:] == ["–", "–", "–"] for row in rows):
        return ""
    head = ("load", "server peak RSS (process tree)", "server GPU memory", "client peak RSS")
    return (
        "Memory under load: the server's process tree (the server and its workers, polled "
        "over the measured window; a server the suite did not launch has none) and the "
        "client's, limitbench's own process sending the requests.\n\n" + table(head, rows)
    )


def notes(levels: Sequence[Record], slo: SLOConfig | None) -> str:
    """The SLO the levels were judged by, how the intervals were made, and which levels had
    too few requests for a p99."""
    lines = []
    if slo is not None:
        lines.append(f"SLO: {describe_slo(slo)}.")
    lines.append(
        "Brackets: 95% intervals (percentiles: order statistics over requests, inter-token "
        "gaps: a bootstrap over requests; SLO attainment: Wilson). A level's requests cycle "
        "the task's samples until its `load_level` minimums; quality is scored once per sample."
    )
    thin = thin_p99(levels)
    if thin:
        listed = ", ".join("{}={:g} ({n})".format(*load_of(r), n=n) for r, n in thin)
        lines.append(
            f"p99 from fewer than the {P99_NEEDS} requests a p99 needs: {listed}; it is then "
            "mostly the slowest request (a 95% interval of it needs 299)."
        )
    return " ".join(lines)


def describe_slo(slo: SLOConfig) -> str:
    bounds = [
        f"{name} ≤ {bound:g} ms"
        for name, bound in (("TTFT", slo.ttft_ms), ("TPOT", slo.tpot_ms), ("e2e", slo.e2e_ms))
        if bound is not None
    ]
    return f"{', '.join(bounds) or 'no bounds'} for at least {slo.attainment:.0%} of requests"


HEADERS = (
    "load", "requests", "req/s", "out tok/s", "steady tok/s", "tokens server/client", "prefix hits",
    "TTFT p50 ms", "TTFT p99 ms", "TPOT p50 ms", "TPOT p99 ms",
    "SLO attained", "meets SLO", "goodput req/s", "quality", "Δ vs lightest", "quality under SLO",
    "errors",
)  # fmt: skip


def highest_meeting(levels: Sequence[Record]) -> str:
    meeting = [r for r in levels if (m := r.perf.get(PerfName.SLO_MET)) is not None and m.value]
    if not any(PerfName.SLO_MET in r.perf for r in levels):
        return "no SLO in the suite"
    if not meeting:
        return "none of the levels meets the SLO"
    knob, level = load_of(meeting[-1])
    return f"{knob}={level:g} (goodput {_perf(meeting[-1], 'goodput')} req/s)"


def serving_section(
    records: Sequence[Record],
    rel: str,
    searches: Sequence[SearchOutcome] = (),
    slos: Mapping[str, SLOConfig] | None = None,
) -> Section:
    """`slos`: each run's SLO by run id, drawn on the figures and stated under the tables."""
    groups = served_groups(records)
    if not groups:
        return Section("")
    parts = ["## Serving: latency against throughput"]
    parts += [search_table(outcome) for outcome in searches]
    figures = []
    for (model, task), levels in sorted(groups.items()):
        name = f"serving_{file_slug(model)}_{file_slug(task)}.png"
        best = next((o.highest_passing for o in searches if o.model == model), None)
        slo = (slos or {}).get(levels[0].run_id)
        figures.append(ServingFigure(name, f"{model} · {task}", levels, best, slo))
        memory = memory_table(levels)
        parts.append(
            f"**{model} · {task}**: highest load meeting the SLO (attainment's point "
            f"estimate): {highest_meeting(levels)}.\n\n"
            + table(HEADERS, _rows(levels))
            + f"\n\n{notes(levels, slo)}"
            + (f"\n\n{memory}" if memory else "")
            + f"\n\n![latency vs throughput {model} {task}]({rel}/{name})"
        )
    return Section("\n\n".join(parts), tuple(figures))


def search_table(outcome: SearchOutcome) -> str:
    """The SLO search's path: every level in the order tried, and where and why it stopped."""
    best = "none" if outcome.highest_passing is None else f"{outcome.highest_passing:g}"
    judged = "its 95% lower bound" if outcome.judge == "lower_bound" else "its point estimate"
    rows = [
        [
            str(i + 1),
            level.phase,
            f"{outcome.knob}={level.level:g}",
            "–" if level.attainment is None else f"{level.attainment:.3f}",
            "–" if level.ci_low is None else f"[{level.ci_low:.3f}, {level.ci_high or 0:.3f}]",
            "–"
            if level.steady_output_tokens_per_s is None
            else fmt_number(level.steady_output_tokens_per_s),
            "pass" if level.passed else "fail",
        ]
        for i, level in enumerate(outcome.levels)
    ]
    head = ("#", "phase", "level", "SLO attainment", "95% interval", "steady tok/s", "verdict")
    return (
        f"**SLO search · {outcome.model}**: highest {outcome.knob} meeting the SLO: **{best}** "
        f"(attainment >= {outcome.target:g}, judged on {judged}); stopped: {outcome.stopped}."
        "\n\n" + table(head, rows)
    )
