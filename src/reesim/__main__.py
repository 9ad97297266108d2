"""``python -m reesim``: the same as the ``reesim`` command."""

from reesim.cli import main

raise SystemExit(main())
