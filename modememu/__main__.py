"""`python -m modememu`: the same as the `modememu` command."""

from __future__ import annotations

import sys

from modememu.cli import main

sys.exit(main())
