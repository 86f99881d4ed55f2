"""table.md from results.json: one row per check, a column per server, a summary count."""

from __future__ import annotations

from benchmarks.conformance.record import CheckResult, ConformanceResult


def cell(result: CheckResult | None) -> str:
    """`pass`, `fail: reason` (one line, cut to 90 characters), `n/a`, or `-` (not run)."""
    if result is None:
        return "-"
    if result.outcome == "pass":
        return "pass"
    if result.outcome == "na":
        return "n/a"
    reason = " ".join((result.reason or "").split())
    if len(reason) > 90:
        reason = reason[:89] + "…"
    return _md(f"fail: {reason}" if reason else "fail")


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def counts(result: ConformanceResult) -> dict[str, dict[str, int]]:
    """{server name: {"pass": n, "fail": n, "na": n}}."""
    out: dict[str, dict[str, int]] = {}
    for run in result.servers:
        c = {"pass": 0, "fail": 0, "na": 0}
        for r in run.results.values():
            c[r.outcome] += 1
        out[run.column.name] = c
    return out


def only_failing(result: ConformanceResult, name: str) -> list[str]:
    """Checks that fail on server `name` and pass on every other server."""
    runs = {r.column.name: r for r in result.servers}
    failed: list[str] = []
    for check in result.checks:
        mine = runs[name].results.get(check.id)
        others = [r.results.get(check.id) for n, r in runs.items() if n != name]
        if (
            mine
            and mine.outcome == "fail"
            and others
            and all(o is not None and o.outcome == "pass" for o in others)
        ):
            failed.append(check.id)
    return failed


def render(result: ConformanceResult) -> str:
    """The whole page."""
    runs = result.servers
    v = result.versions
    lines = [
        "# OpenAI-API conformance: gemma-serve vs bare vLLM",
        "",
        "Our re-implementation of vLLM's own OpenAI-server tests (`benchmarks/conformance/`, "
        "each check's docstring names the vLLM test it mirrors), run by "
        "`python -m benchmarks.conformance` against each server in turn, one up at a time, "
        f"serving `{result.model}`. vLLM {v.get('vllm', '?')}, Ray {v.get('ray', '?')}, "
        f"gemma-serve {v.get('gemma-serve', '?')}; {result.created_at}, "
        f"{result.wall_s / 60:.1f} min in all. Data: `results.json`.",
        "",
    ]
    for run in runs:
        lines.append(f"- **{run.column.label}** (`{run.column.name}`): {run.column.description}")
    lines += [
        "",
        "## Summary",
        "",
        "| server | pass | fail | n/a | checks' time |",
        "|---|---|---|---|---|",
    ]
    c = counts(result)
    for run in runs:
        n = c[run.column.name]
        lines.append(
            f"| {run.column.label} | {n['pass']} | {n['fail']} | {n['na']} | {run.checks_s:.0f} s |"
        )
        if run.error:
            lines.append(f"| ^ did not run: {_md(run.error)} | | | | |")
    for run in runs:
        only = only_failing(result, run.column.name)
        lines.append("")
        lines.append(
            f"Failing only on {run.column.label}: {len(only)}"
            + (" (" + ", ".join(f"`{i}`" for i in only) + ")" if only else "")
            + "."
        )
    header = "| check | mirrors (vLLM) | " + " | ".join(r.column.label for r in runs) + " | notes |"
    lines += ["", "## Check by check", "", header, "|---|---|" + "---|" * len(runs) + "---|"]
    for check in result.checks:
        cells = [cell(r.results.get(check.id)) for r in runs]
        note = result.notes.get(check.id, "")
        if not note and all(r.results.get(check.id, None) is not None for r in runs):
            first = runs[0].results[check.id]
            if first.outcome == "na":
                note = first.reason or ""
        lines.append(
            f"| `{_md(check.id)}` | `{_md(check.mirrors)}` | "
            + " | ".join(cells)
            + f" | {_md(note)} |"
        )
    return "\n".join(lines) + "\n"
