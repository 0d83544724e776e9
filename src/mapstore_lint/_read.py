"""Reading a path as hostile input: regular files only, never blocking, never too much.

A FIFO named on the command line blocks ``open()`` until a writer comes (forever, in CI); a
device or a socket is no source either, and opening some devices acts. So a path is looked at
before it is opened, opened without blocking, and looked at again through the open file (it
may have been swapped in between). The AST costs about a hundred times the source in memory (a
50 MiB file took 39 s and 5.6 GiB), so a file over ``MAX_SOURCE_BYTES`` is not read: it is
reported, like a path that does not exist, and the other files are still checked.
"""

from __future__ import annotations

import math
import os
import stat

__all__ = ["MAX_SOURCE_BYTES", "Unreadable", "read_source"]

MAX_SOURCE_BYTES = 5 * 1024 * 1024
"""The largest file checked: 5 MiB, 150 times this project's largest module (a generated module
just under it took 1.2 s and 850 MB at peak). A larger file is reported (``read-error``, exit
status 2), not read."""

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class Unreadable(Exception):
    """A path that is not read; the message says why (``not a regular file (a FIFO)``)."""


def _not_regular(mode: int) -> str | None:
    """Why a file of this mode is not read, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), "not a file of a known kind")
    return f"not a regular file ({kind})"


def _size(count: int) -> str:
    """A byte count for a person, rounded up (5 MiB and one byte is ``5.1 MiB``, not ``5``)."""
    for unit, name in ((1 << 20, "MiB"), (1 << 10, "KiB")):
        if count >= unit:
            return f"{math.ceil(count * 10 / unit) / 10:.1f}".removesuffix(".0") + f" {name}"
    return f"{count} bytes"


def read_source(path: str) -> bytes:
    """The bytes of a regular file of at most ``MAX_SOURCE_BYTES``; else ``Unreadable``.

    Never blocks on a FIFO and never opens a device; reads at most one byte past the limit
    even when the file's size lied (``/proc``) or it grew after it was looked at.
    """
    limit = MAX_SOURCE_BYTES
    try:
        why = _not_regular(os.stat(path).st_mode)
        if why is not None:
            raise Unreadable(why)
        with open(os.open(path, _OPEN_FLAGS), "rb") as file:
            status = os.fstat(file.fileno())
            why = _not_regular(status.st_mode)
            if why is not None:
                raise Unreadable(why)
            if status.st_size > limit:
                raise Unreadable(f"too large to check ({_size(status.st_size)} > {_size(limit)})")
            data = file.read(limit + 1)
    except OSError as error:
        raise Unreadable(f"cannot read: {error.strerror or error}") from error
    if len(data) > limit:
        raise Unreadable(f"too large to check (over {_size(limit)})")
    return data
