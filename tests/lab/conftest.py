"""pytest fixtures for the lab tests (helpers live in labhelpers.py so test modules can import them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from labhelpers import lab_fixture

from probe.lab.lab import Lab


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    yield from lab_fixture()
