"""Artifacts of a load run: the time series as JSON and PNG charts of RPS, latency percentiles and users.

Charts use matplotlib's Agg backend (no display) and the theme's palette and font. Importing matplotlib takes
about a second; :func:`warm_up` does it in a background thread while the Locust children start (the pytest
process only waits for them then), so the chart costs a tenth of that after the run.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from pytest_artemis import theme
from pytest_artemis.families import BY_NAME
from pytest_artemis.load.results import RunResult

__all__ = ["warm_up", "warmed", "write_charts", "write_timeseries"]

_warming: threading.Thread | None = None


def _import() -> None:
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot
    except Exception:  # noqa: BLE001, S110 - write_charts imports again and reports a real problem
        pass


def warm_up() -> None:
    """Import matplotlib in a background thread (once; not when it is imported already)."""
    global _warming
    if _warming is None and "matplotlib.pyplot" not in sys.modules:
        _warming = threading.Thread(target=_import, name="artemis-charts-import", daemon=True)
        _warming.start()


def warmed() -> None:
    """Wait for :func:`warm_up`'s import to finish (no thread is left running when the session ends)."""
    if _warming is not None:
        _warming.join()


def write_timeseries(result: RunResult, directory: Path) -> Path:
    """``timeseries.json``: plan, summary, one entry per second, health and memory samples, fault switches."""
    path = directory / "timeseries.json"
    path.write_text(json.dumps(result.as_dict(), indent=1, default=str), encoding="utf-8")
    return path


def write_charts(result: RunResult, directory: Path) -> Path | None:
    """``load.png``: users, RPS and failures/s, and p50/p95/p99 per second, faults shaded. None without samples."""
    if not result.samples:
        return None
    warmed()
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    t = [s.t for s in result.samples]
    plt.rcParams.update({"font.family": "monospace", "font.size": 8})
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, facecolor=theme.BACKGROUND)
    for ax in (top, bottom):
        ax.set_facecolor(theme.BACKGROUND)
        ax.tick_params(colors=theme.FOREGROUND)
        for spine in ax.spines.values():
            spine.set_color(theme.FOREGROUND)
        ax.grid(alpha=0.2, color=theme.FOREGROUND)
        for entry in result.fault_log:
            if entry["on"]:
                off = next((e["t"] for e in result.fault_log if e["fault"] == entry["fault"] and not e["on"]
                            and e["t"] >= entry["t"]), t[-1] + 1)
                ax.axvspan(entry["t"], off, color=theme.RED, alpha=0.15)
    top.plot(t, [s.rps for s in result.samples], color=theme.GREEN, label="requests/s")
    top.plot(t, [s.total.failures for s in result.samples], color=theme.RED, label="failures/s")
    users_ax = top.twinx()
    users_ax.step(t, [s.users for s in result.samples], where="post", color=theme.YELLOW, label="users")
    users_ax.tick_params(colors=theme.FOREGROUND)
    top.set_ylabel("requests/s", color=theme.FOREGROUND)
    users_ax.set_ylabel("users", color=theme.FOREGROUND)
    for q, colour in ((50, theme.GREEN), (95, theme.YELLOW), (99, theme.RED)):
        bottom.plot(t, [s.total.p(q) for s in result.samples], color=colour, label=f"p{q}")
    bottom.set_ylabel("latency ms", color=theme.FOREGROUND)
    bottom.set_xlabel("seconds", color=theme.FOREGROUND)
    handles = top.get_legend_handles_labels()[0] + users_ax.get_legend_handles_labels()[0]
    top.legend(handles=handles, loc="upper left", facecolor=theme.BACKGROUND, labelcolor=theme.FOREGROUND)
    bottom.legend(loc="upper left", facecolor=theme.BACKGROUND, labelcolor=theme.FOREGROUND)
    scenario = getattr(result.plan, "scenario", "load")
    fig.suptitle(f"{theme.TITLE}: {scenario} ({BY_NAME['load'].title})", color=theme.FOREGROUND)
    path = directory / "load.png"
    fig.savefig(path, dpi=90, facecolor=theme.BACKGROUND)
    plt.close(fig)
    return path
