"""Fixtures for the deploy tests."""

import pytest

from .apps import AppStarter


@pytest.fixture(scope="module")
def start_app(tmp_path_factory):
    """``start_app(env=None)`` -> a live :class:`AppProcess`; all are stopped afterwards."""
    starter = AppStarter(tmp_path_factory.mktemp("apps"))
    yield starter
    starter.close()
