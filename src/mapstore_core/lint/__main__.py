"""``python -m mapstore_core.lint``: the same as the ``mapstore-lint`` command."""

from mapstore_core.lint import main

raise SystemExit(main())
