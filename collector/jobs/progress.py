"""Progress of long jobs: a Rich display on a terminal, one plain line per step otherwise."""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn


class Reporter(Protocol):
    """Receives progress events from a job."""

    def start(self, repo: str, series: str, expected: int | None) -> None: ...
    def advance(self, repo: str, series: str, pages: int = 1, budget: str | None = None) -> None: ...
    def done(self, repo: str, series: str, note: str) -> None: ...
    def close(self) -> None: ...


class PlainReporter:
    """One line per step, for logs and pipes."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.pages: dict[tuple[str, str], tuple[int, int | None, float]] = {}

    def start(self, repo: str, series: str, expected: int | None) -> None:
        self.pages[(repo, series)] = (0, expected, time.monotonic())

    def advance(self, repo: str, series: str, pages: int = 1, budget: str | None = None) -> None:
        done, expected, started = self.pages.get((repo, series), (0, None, time.monotonic()))
        done += pages
        self.pages[(repo, series)] = (done, expected, started)
        of = f"/{expected}" if expected else ""
        eta = ""
        if expected and done:
            remaining = (time.monotonic() - started) / done * max(0, expected - done)
            eta = f" eta={remaining:.0f}s"
        extra = f" budget={budget}" if budget else ""
        print(f"{repo} {series}: page {done}{of}{eta}{extra}", file=self.out, flush=True)

    def done(self, repo: str, series: str, note: str) -> None:
        print(f"{repo} {series}: {note}", file=self.out, flush=True)

    def close(self) -> None:
        pass


class RichReporter:
    """A live progress bar per repository and series."""

    def __init__(self, console: Console | None = None) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[budget]}"),
            console=console,
            transient=False,
        )
        self.tasks: dict[tuple[str, str], TaskID] = {}
        self.progress.start()

    def start(self, repo: str, series: str, expected: int | None) -> None:
        self.tasks[(repo, series)] = self.progress.add_task(f"{repo} {series}", total=expected, budget="")

    def advance(self, repo: str, series: str, pages: int = 1, budget: str | None = None) -> None:
        task = self.tasks.get((repo, series))
        if task is not None:
            self.progress.update(task, advance=pages, budget=budget or "")

    def done(self, repo: str, series: str, note: str) -> None:
        task = self.tasks.get((repo, series))
        if task is not None:
            total = self.progress.tasks[task].completed
            self.progress.update(
                task, total=max(total, 1), completed=max(total, 1), description=f"{repo} {series}: {note}"
            )

    def close(self) -> None:
        self.progress.stop()


class NullReporter:
    """Reports nothing (the daemon logs instead)."""

    def start(self, repo: str, series: str, expected: int | None) -> None:
        pass

    def advance(self, repo: str, series: str, pages: int = 1, budget: str | None = None) -> None:
        pass

    def done(self, repo: str, series: str, note: str) -> None:
        pass

    def close(self) -> None:
        pass


def make_reporter(stream: TextIO | None = None) -> Reporter:
    """Rich on a terminal, plain lines otherwise."""
    out = stream or sys.stdout
    if out.isatty():
        return RichReporter(Console(file=out))
    return PlainReporter(out)
