"""A run's output: drained from its pipe while it runs, kept as its first and last bytes, and made
safe to show (`CapturedLog`); `last_error_line` picks the line a mentor wants from it."""

from __future__ import annotations

import os
import re
import select
import threading

from checker.sandbox.limits import CapturedLog


def last_error_line(text: str) -> str:
    """The line a mentor wants: the exception at the end of a traceback, else the last line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines[-40:]):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b", line):
            return line[:300]
    return lines[-1][:300] if lines else ""


class LogReader(threading.Thread):
    """Drain the run's stdout+stderr pipe, keeping the first and last bytes only."""

    def __init__(self, pipe, head_bytes: int, tail_bytes: int) -> None:
        super().__init__(daemon=True)
        self._pipe = pipe
        self._head = bytearray()
        self._tail = bytearray()
        self._head_bytes, self._tail_bytes = head_bytes, tail_bytes
        self._total = 0
        self._stopping = threading.Event()

    def run(self) -> None:
        fd = self._pipe.fileno()
        while not self._stopping.is_set():
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            self._total += len(chunk)
            room = self._head_bytes - len(self._head)
            if room > 0:
                self._head += chunk[:room]
                chunk = chunk[room:]
            if chunk:
                self._tail += chunk
                if len(self._tail) > 2 * self._tail_bytes:
                    del self._tail[: len(self._tail) - self._tail_bytes]

    def finish(self, grace_s: float) -> CapturedLog:
        """Wait for the end of the output (every writer is dead by now), but not forever: a
        process that escaped (only possible without a pid namespace) may hold the pipe."""
        self.join(grace_s)
        self._stopping.set()
        self.join(1.0)
        self._pipe.close()
        tail = bytes(self._tail[-self._tail_bytes :])
        omitted = self._total - len(self._head) - len(tail)
        text = safe_text(bytes(self._head))
        if omitted > 0:
            text += f"\n[... {omitted} bytes of output omitted ...]\n"
        text += safe_text(tail)
        return CapturedLog(text=text, total_bytes=self._total, truncated=omitted > 0)


_ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def safe_text(data: bytes) -> str:
    """Bytes from a learner's program, made safe for a terminal and a report: invalid UTF-8
    replaced (a cut through a character included), terminal escapes and control characters
    removed, and carriage-return progress bars reduced to what a terminal would show last."""
    text = data.decode("utf-8", errors="replace")
    text = _ANSI.sub("", text)
    text = "\n".join(line.rsplit("\r", 1)[-1] if "\r" in line.rstrip("\r") else line.rstrip("\r")
                     for line in text.split("\n"))
    return _CONTROL.sub("", text)
