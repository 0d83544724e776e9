"""``_stopping``: a stop signal unwinds a command even through ``except Exception``."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from mapstore_tui._stopping import Stopped, stop_raises


def test_a_stop_signal_is_not_swallowed_by_except_exception() -> None:
    """``Stopped`` was an ``Exception``: a SIGTERM that landed inside a guard such as
    ``except Exception: pass`` (there are many, so the panel never crashes on data) was
    swallowed, and the command went on running."""
    deadline = time.monotonic() + 10
    later = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM))
    with pytest.raises(Stopped) as stopped, stop_raises():
        later.start()  # lands while the main thread sleeps inside the guard
        while time.monotonic() < deadline:
            try:
                time.sleep(0.05)
            except Exception:  # the guard under test
                continue
    later.join()
    assert stopped.value.signum == signal.SIGTERM
    assert stopped.value.exit_status == 128 + signal.SIGTERM
