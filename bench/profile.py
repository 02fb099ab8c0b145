"""Sampling profiles of the central system under load, with py-spy.

`script/bench --profile` records the steady phase of each central system into
`<workdir>/<name>_profile.txt` (folded stacks, one line per distinct stack and
its sample count). `python -m bench.profile FILE` sums them up: the share of
CPU samples per component (inclusive) and the busiest functions (self time).
Profiling costs the machine CPU: take the benchmark's figures from a run
without it.
"""

import asyncio
from collections import Counter
from pathlib import Path
import shutil
import sys

RATE_HZ = 100
# Where a stack frame's file lives: the component it is counted under.
COMPONENTS = (
    # py-spy names files relative to their sys.path entry: csms/... for the integration.
    ("(csms/central/", "csms core (central/)"),
    ("(csms/", "csms Home Assistant glue"),
    ("homeassistant/components/recorder/", "recorder"),
    ("homeassistant/helpers/entity.py", "HA entity state writes"),
    ("homeassistant/core.py", "HA core (states, events, loop jobs)"),
    ("homeassistant/", "HA other"),
    ("sqlalchemy/", "SQLAlchemy"),
    ("ocpp/", "ocpp package"),
    ("jsonschema", "JSON schema validation"),
    ("websockets/", "websockets"),
    ("asyncio/", "asyncio"),
    ("json/", "json"),
)


async def record(pid: int, seconds: float, output: Path) -> asyncio.subprocess.Process | None:
    """Start sampling process `pid` for `seconds` (None when py-spy is missing)."""
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if py_spy is None:
        print("py-spy is missing: pip install -r requirements_dev.txt", file=sys.stderr)
        return None
    return await asyncio.create_subprocess_exec(
        py_spy,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, round(seconds))),
        "--rate",
        str(RATE_HZ),
        "--nonblocking",
        "--format",
        "raw",
        "--output",
        str(output),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


def _frames(stack: str) -> list[str]:
    return stack.split(";")


def _component(frame: str) -> str | None:
    for marker, name in COMPONENTS:
        if marker in frame:
            return name
    return None


def summarise(path: Path, top: int = 25) -> str:
    """Component shares (inclusive) and the functions with the most self time."""
    inclusive: Counter[str] = Counter()
    running: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = _frames(stack)
        for component in {_component(frame) for frame in frames} - {None}:
            assert component is not None
            inclusive[component] += count
        own[frames[-1]] += count
        running[_component(frames[-1]) or "other (C code, stdlib)"] += count
    if not total:
        return f"{path}: no samples"
    lines = [f"{path.name}: {total} samples", "", "Share of samples in (inclusive):"]
    lines += [
        f"  {count / total:6.1%}  {component}" for component, count in inclusive.most_common()
    ]
    lines += ["", "Share of samples by the component running (own time):"]
    lines += [f"  {count / total:6.1%}  {component}" for component, count in running.most_common()]
    lines += ["", f"Top {top} functions by own samples:"]
    lines += [f"  {count / total:6.1%}  {frame}" for frame, count in own.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    """Entry point of `python -m bench.profile FILE...`."""
    for name in sys.argv[1:]:
        print(summarise(Path(name)))
        print()


if __name__ == "__main__":
    main()
