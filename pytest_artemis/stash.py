"""The session's stash keys and their accessors: where the frozen config and the session record live.

The hooks module stores both on ``pytest.Config.stash`` once per session; every other layer (items,
fixtures, suites) reads them through :func:`config_of` and :func:`record_of`, so nothing imports the
hooks module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_artemis.config import ArtemisConfig
    from pytest_artemis.record import SessionRecord
    from pytest_artemis.sessions import SessionDir

__all__ = ["CONFIG_KEY", "RECORD_KEY", "SESSION_DIR_KEY", "config_of", "record_of", "session_dir_of"]

CONFIG_KEY = pytest.StashKey["ArtemisConfig"]()
RECORD_KEY = pytest.StashKey["SessionRecord"]()


def _config(node_or_config: Any) -> pytest.Config:
    return node_or_config if isinstance(node_or_config, pytest.Config) else node_or_config.config


def config_of(node_or_config: Any) -> ArtemisConfig:
    """The session's :class:`~pytest_artemis.config.ArtemisConfig` (from a pytest Config, item or collector)."""
    return _config(node_or_config).stash[CONFIG_KEY]


def record_of(node_or_config: Any) -> SessionRecord:
    """The session's :class:`~pytest_artemis.record.SessionRecord`."""
    return _config(node_or_config).stash[RECORD_KEY]


SESSION_DIR_KEY = pytest.StashKey["SessionDir"]()


def session_dir_of(node_or_config: Any) -> SessionDir:
    """The session's artifact directory (:class:`~pytest_artemis.sessions.SessionDir`)."""
    return _config(node_or_config).stash[SESSION_DIR_KEY]
