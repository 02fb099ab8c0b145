"""The benchmark's figures as a plain-text table, with the targets checked."""

from collections.abc import Callable
import math
import os
import platform
import sys

from . import ledger
from .load import percentiles
from .run import Result, Settings

MS = 1000.0
KIB = 1024
MIB = 1024 * 1024
DAY_S = 86_400


def report(
    command: str,
    settings: Settings,
    results: list[Result],
    ledger_figures: ledger.LedgerFigures | None,
    load_lag: list[tuple[float, float]],
) -> str:
    """Everything a run measured, csms next to the ocpp-only central system."""
    lines = [
        f"$ {command}",
        f"{settings.chargers} chargers x {settings.connectors} connector(s), "
        f"{settings.duration_s:.0f} s of steady load per central system",
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {_cpu_model()}",
        "",
    ]
    names = [result.name for result in results]
    header = f"{'':44}" + "".join(f"{name:>16}" for name in names)
    if len(results) == 2:
        header += f"{'ratio':>10}"
    lines.append(header)

    def row(label: str, value: Callable[[Result], float | None], fmt: str = "{:.1f}") -> None:
        values = [_safely(value, result) for result in results]
        text = f"{label:44}" + "".join(
            f"{'-' if v is None or math.isnan(v) else fmt.format(v):>16}" for v in values
        )
        if len(values) == 2 and None not in values and values[1]:
            a, b = values
            if a is not None and b is not None and not math.isnan(a) and not math.isnan(b):
                text += f"{a / b:>9.1f}x"
        lines.append(text)

    row("messages handled per second (steady)", lambda r: r.steady_messages / r.steady_s)
    row("  charger calls answered", lambda r: r.steady_charger_calls, "{:.0f}")
    row("  central system calls answered", lambda r: r.steady_server_calls, "{:.0f}")
    row("charger calls answered (reconnect storm)", lambda r: r.storm_charger_calls, "{:.0f}")
    row("central system calls (reconnect storm)", lambda r: r.storm_server_calls, "{:.0f}")
    for phase in ("steady", "burst", "reconnect", "commission"):
        row(f"failed messages ({phase})", _figure("failures", phase), "{:.0f}")
    row(
        "calls cut off by the restart (resent)",
        lambda r: r.failures["cut off by the restart"],
        "{:.0f}",
    )
    for phase, label in (
        ("steady", "steady"),
        ("burst", "quarter-hour burst"),
        ("reconnect", "reconnect storm"),
        ("commission", "first connection"),
    ):
        for stat in ("p50", "p95", "p99", "max"):
            row(f"round trip {stat} ms ({label})", _figure("rtt", phase, stat, MS))
    for phase, label in (
        ("steady", "steady"),
        ("burst", "quarter-hour burst"),
        ("reconnect", "reconnect storm"),
    ):
        for stat in ("p99", "max"):
            row(f"event-loop lag {stat} ms ({label})", _figure("loop_lag", phase, stat, MS))
    row(
        "CPU s per 1000 messages (steady)",
        lambda r: r.steady_cpu_s / r.steady_messages * 1000,
        "{:.3f}",
    )
    row(
        "CPU s per 1000 charger calls (steady)",
        lambda r: r.steady_cpu_s / r.steady_charger_calls * 1000,
        "{:.3f}",
    )
    row("CPU share of one core (steady, %)", lambda r: r.steady_cpu_s / r.steady_s * 100)
    row("RSS idle MiB", lambda r: r.baseline_rss / MIB)
    row("RSS peak MiB", lambda r: r.peak_rss / MIB)
    row(
        "RSS per charger KiB ((steady - idle) / N)",
        lambda r: (r.steady_rss - r.baseline_rss) / settings.chargers / KIB,
    )
    row("first connection to all set up s", lambda r: r.restart["commission_s"])
    row("restart: stop s", lambda r: r.restart["stop_s"])
    row("restart: start until OCPP port open s", lambda r: r.restart["start_s"])
    row("restart: port open to all Accepted s", lambda r: r.restart["reconnect_s"])
    row("restart: stop to all Accepted s", lambda r: r.restart["total_s"])
    row(
        "recorder database growth KiB/charger/day",
        lambda r: (
            None
            if r.database_growth is None
            else r.database_growth / settings.chargers / r.steady_s * DAY_S / KIB
        ),
    )
    row(
        "enabled entities per charger",
        lambda r: r.status["enabled_entities"] / settings.chargers if r.status else None,
    )
    row(
        "garbage collections over 100 ms (to steady end)",
        lambda r: r.status["gc"]["over_100_ms"] if r.status else None,
        "{:.0f}",
    )
    row(
        "longest garbage collection ms",
        lambda r: r.status["gc"]["longest_s"] * MS if r.status else None,
    )
    row("load generator CPU share (steady, %)", lambda r: r.load_cpu_s / r.steady_s * 100)
    lag = percentiles(value for _, value in load_lag)
    lines.append(
        f"load generator event-loop lag p99 {lag['p99'] * MS:.1f} ms, max {lag['max'] * MS:.1f} ms"
    )
    kinds = {kind: count for result in results for kind, count in result.failure_kinds.items()}
    if kinds:
        lines.append(
            "failed calls by kind (all phases): "
            + ", ".join(f"{kind} x{count}" for kind, count in sorted(kinds.items()))
        )
    if ledger_figures is not None:
        lines += ["", "Energy ledger, a month of 15-minute intervals:"]
        lines.append(ledger.report(ledger_figures, settings.chargers * settings.connectors, 31))
    csms = next((result for result in results if result.name == "csms"), None)
    ocpp = next((result for result in results if result.name != "csms"), None)
    if csms is not None:
        lines += ["", "Targets (set for 1000 chargers on 2 cores):"]
        lines += _targets(csms, ocpp, settings)
    return "\n".join(lines)


def _safely(value: Callable[[Result], float | None], result: Result) -> float | None:
    """A figure, or None where a phase had nothing to divide by."""
    try:
        return value(result)
    except ZeroDivisionError:
        return None


def _figure(
    name: str, phase: str, stat: str | None = None, scale: float = 1.0
) -> Callable[[Result], float]:
    """Reads result.<name>[phase][stat] (or [phase]), times `scale`."""

    def value(result: Result) -> float:
        by_phase = getattr(result, name)[phase]
        return float(by_phase if stat is None else by_phase[stat]) * scale

    return value


def _targets(csms: Result, ocpp: Result | None, settings: Settings) -> list[str]:
    failed = sum(csms.failures[phase] for phase in ("steady", "burst", "reconnect", "commission"))
    checks = [
        ("no failed message", failed == 0),
        ("round trip p99 < 100 ms in steady state", csms.rtt["steady"]["p99"] < 0.1),
        ("round trip p99 < 1 s in the quarter-hour burst", csms.rtt["burst"]["p99"] < 1.0),
        ("round trip p99 < 1 s in the reconnect storm", csms.rtt["reconnect"]["p99"] < 1.0),
        ("event-loop lag p99 < 50 ms (steady)", csms.loop_lag["steady"]["p99"] < 0.05),
        ("all Accepted within 30 s of the restart", csms.restart["total_s"] < 30),
        (
            "memory < 200 KiB per charger",
            (csms.steady_rss - csms.baseline_rss) / settings.chargers < 200 * KIB,
        ),
    ]
    if ocpp is not None and ocpp.steady_cpu_s and csms.steady_charger_calls:
        ratio = (csms.steady_cpu_s / csms.steady_charger_calls) / (
            ocpp.steady_cpu_s / ocpp.steady_charger_calls
        )
        checks.append((f"CPU per message within 2x of ocpp only ({ratio:.1f}x)", ratio <= 2))
    return [f"  [{'met' if ok else 'MISSED':>6}] {label}" for label, ok in checks]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine() or sys.platform
