"""``python -m mapstore_core.lint``: the same as ``mapstore-lint`` (``python -m mapstore_lint``)."""

from mapstore_lint import main

raise SystemExit(main())
