"""``python -m mapstore_tui`` is the ``mapstore-tui`` command."""

from mapstore_tui._entry import main

raise SystemExit(main())
