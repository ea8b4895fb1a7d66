"""A dependency-free text progress bar for management commands."""

from __future__ import annotations

import time
from typing import TextIO


class ProgressBar:
    def __init__(self, stream: TextIO, label: str, width: int = 30) -> None:
        self.stream, self.label, self.width = stream, label, width
        self.started = time.monotonic()
        self.last = 0.0

    def update(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.2 and done < total:
            return
        self.last = now
        total = max(total, 1)
        filled = min(self.width, self.width * done // total)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {done}/{total} {now - self.started:5.1f}s")
        self.stream.flush()

    def phase(self, phase: str, done: int, total: int) -> None:
        """An adapter for ProgressCallback(phase, done, total)."""
        if phase != self.label:
            if self.last:
                self.stream.write("\n")
            self.label, self.last = phase, 0.0
        self.update(done, total)

    def finish(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
