from __future__ import annotations

from typing import Any

import pytest

from civicgrid.territory import locate


@pytest.fixture(autouse=True)
def fresh_locate_index() -> Any:
    """Each test's database is rolled back afterwards, which no signal reports: start every
    test with a stale process index so it never answers from a previous test's rows."""
    locate.mark_stale()
    yield
    locate.mark_stale()
