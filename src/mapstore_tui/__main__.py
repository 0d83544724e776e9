"""``python -m mapstore_tui`` is the ``mapstore-tui`` command."""

from mapstore_tui.cli import main

raise SystemExit(main())
