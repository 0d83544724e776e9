"""``python -m mapstore_lint``: the same as the ``mapstore-lint`` command."""

from mapstore_lint import main

raise SystemExit(main())
