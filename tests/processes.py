"""The process tree as /proc shows it (Linux): who a process's children are, who is still
running, and which processes name a path on their command line.

A process is identified by its pid *and* its start time, so a pid the kernel reuses for a
new process is never mistaken for the old one. A zombie (dead, not yet reaped: in a
container whose PID 1 never reaps, orphans stay zombies) counts as ended: it runs nothing
and holds nothing open.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Process", "children", "naming", "process", "running"]


@dataclass(frozen=True)
class Process:
    """One process: its pid, its start time (clock ticks after boot) and its command line."""

    pid: int
    started: int
    cmdline: str


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of ``pid``, or None if there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    return fields[0], int(fields[1]), int(fields[19])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def process(pid: int) -> Process | None:
    """``pid`` as it runs now, or None if it does not (gone or a zombie)."""
    stat = _stat(pid)
    if stat is None or stat[0] == "Z":
        return None
    return Process(pid, stat[2], _cmdline(pid))


def running(process_: Process) -> bool:
    """Whether that very process (not a reuse of its pid) still runs."""
    stat = _stat(process_.pid)
    return stat is not None and stat[0] != "Z" and stat[2] == process_.started


def children(parent: int) -> list[Process]:
    """The running children of ``parent``."""
    found = []
    for pid in _pids():
        stat = _stat(pid)
        if stat is not None and stat[1] == parent and stat[0] != "Z":
            found.append(Process(pid, stat[2], _cmdline(pid)))
    return found


def naming(text: str) -> list[Process]:
    """Running processes whose command line contains ``text`` (not this one)."""
    found = []
    for pid in _pids():
        if pid == os.getpid():
            continue
        current = process(pid)
        if current is not None and text in current.cmdline:
            found.append(current)
    return found
