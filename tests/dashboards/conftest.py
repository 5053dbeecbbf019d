"""Import the gate modules once in this process: pytester's in-process runs restore sys.modules afterwards,
and a re-imported check module would register its check ids a second time."""

from __future__ import annotations

import pytest_artemis.checks.dashboards.collect
import pytest_artemis.checks.rules.collect  # noqa: F401
