"""Fixtures for the domain unit tests (no I/O; time from a fake clock)."""

from __future__ import annotations

import pytest

from tests.unit.builders import World


@pytest.fixture
def world() -> World:
    """A fresh fake clock, the default policy and an empty event log."""
    return World()
