"""Where Home Assistant's memory per charger goes: two tracemalloc snapshots compared."""

from pathlib import Path
import tracemalloc

TOP = 40
# Shorter paths: what matters is the package and the module.
PREFIXES = ("site-packages/", "lib/python3.14/", "/work/", "custom_components/")


def _short(filename: str) -> str:
    for prefix in PREFIXES:
        if prefix in filename:
            return filename.split(prefix, 1)[1]
    return filename


def compare(before: Path, after: Path, output: Path, chargers: int) -> None:
    """Write the growth between two snapshots by file and by line, per charger."""
    old = tracemalloc.Snapshot.load(str(before))
    new = tracemalloc.Snapshot.load(str(after))
    lines = [f"Memory added by {chargers} chargers (tracemalloc, per charger)"]
    total = sum(stat.size_diff for stat in new.compare_to(old, "filename"))
    lines.append(f"total {total / chargers / 1024:.1f} KiB per charger")
    for key in ("filename", "lineno"):
        lines += ["", f"By {key}:"]
        for stat in new.compare_to(old, key)[:TOP]:
            frame = stat.traceback[0]
            where = _short(frame.filename) + (f":{frame.lineno}" if key == "lineno" else "")
            lines.append(
                f"  {stat.size_diff / chargers / 1024:8.2f} KiB  "
                f"{stat.count_diff / chargers:8.1f} blocks  {where}"
            )
    output.write_text("\n".join(lines) + "\n", encoding="utf-8")
