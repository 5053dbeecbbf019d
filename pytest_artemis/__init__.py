"""pytest-artemis: production infrastructure as release gates, in plain pytest.

Public API: the errors, the config, findings and the check decorator, baselines and the recorder.
"""

from __future__ import annotations

from pytest_artemis.baselines import Baseline, load_baselines
from pytest_artemis.checks.registry import check
from pytest_artemis.config import ArtemisConfig
from pytest_artemis.errors import ArtemisError
from pytest_artemis.findings import Finding

__all__ = ["ArtemisConfig", "ArtemisError", "Baseline", "Finding", "__version__", "check", "load_baselines"]
__version__ = "0.1.0"
