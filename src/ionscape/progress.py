"""Terminal progress bars per pipeline stage, and the end-of-run summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

STAGE_LABELS = {
    "ions": "ion formulas",
    "dataset": "reading dataset",
    "centroids": "isotope patterns",
    "annotate": "images & metrics",
    "fdr": "FDR",
    "results": "results",
}


class StageProgress:
    """A rich progress display with one bar per stage; pass ``update`` as the progress callback."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.description:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> StageProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, stage: str, done: int, total: int) -> None:
        """Progress callback: ``done`` of ``total`` tasks of ``stage`` have finished."""
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(STAGE_LABELS.get(stage, stage), total=total)
        self._progress.update(self._tasks[stage], completed=done, total=total)


def print_summary(results: Any, out_dir: Path, console: Console | None = None) -> None:
    """Annotations at each FDR level, time per stage, peak memory, where the files are."""
    console = console or Console()
    counts = Table(title="Annotations (cumulative, by FDR)")
    frame = results.counts_by_fdr()
    for column in frame.columns:
        counts.add_column(column, justify="right" if column != "database" else "left")
    for row in frame.itertuples(index=False):
        counts.add_row(*map(str, row))
    console.print(counts)

    stages = Table(title="Stages")
    for column in ("stage", "seconds", "tasks"):
        stages.add_column(column, justify="left" if column == "stage" else "right")
    for stage in results.run.get("stages", []):
        stages.add_row(
            STAGE_LABELS.get(stage["name"], stage["name"]),
            f"{stage['seconds']:.2f}",
            str(stage["tasks"] or "-"),
        )
    console.print(stages)
    rss = results.run.get("peak_rss_mb", {})
    console.print(
        f"wall time {results.run.get('wall_seconds', 0):.1f} s; peak memory: driver "
        f"{rss.get('driver', 0):.0f} MB, largest task {rss.get('largest_task', 0):.0f} MB"
    )
    console.print(f"results written to {out_dir}/ (annotations.csv, run.json, images/)")
