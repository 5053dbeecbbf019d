"""Baselines: the figures a gate holds the target to, per environment, scenario and endpoint.

The file is YAML validated with a JSON Schema (``data/baselines.schema.json``); the bundled
``data/baselines.yaml`` carries the seed's figures. Resolution for environment E and scenario S
(later wins): ``defaults`` -> ``scenarios[S]`` -> ``environments[E]`` -> ``environments[E].scenarios[S]``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from pytest_artemis.errors import BaselineError

__all__ = ["BUNDLED_BASELINES", "Baseline", "Baselines", "load_baselines"]

BUNDLED_BASELINES = Path(str(resources.files("pytest_artemis") / "data" / "baselines.yaml"))


@dataclass(frozen=True)
class Baseline:
    """The figures in force for one environment and scenario."""

    environment: str
    scenario: str | None
    p95_ms: float
    p99_ms: float
    error_rate_percent: float
    throughput_rps: float
    availability_percent: float
    tolerance_percent: float = 0.0
    extra: Mapping[str, float] = field(default_factory=dict)
    endpoints: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    source: str = ""

    def get(self, key: str, default: float | None = None) -> float | None:
        """A figure by name (core figures and scenario-specific ones such as recovery_seconds)."""
        if key in self.extra:
            return self.extra[key]
        return getattr(self, key, default) if key in _CORE else default

    def for_endpoint(self, endpoint: str) -> Mapping[str, float]:
        """Overrides for one endpoint ("GET /api/v1/missions"), empty when none."""
        return self.endpoints.get(endpoint, {})

    def limit_with_tolerance(self, key: str) -> float:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return float(value) * (1 + self.tolerance_percent / 100)


_CORE = ("p95_ms", "p99_ms", "error_rate_percent", "throughput_rps", "availability_percent", "tolerance_percent")


class Baselines:
    """A validated baselines document."""

    def __init__(self, document: Mapping[str, Any], source: str) -> None:
        self.document = document
        self.source = source

    def for_(self, environment: str, scenario: str | None = None) -> Baseline:
        doc = self.document
        env = dict(doc.get("environments", {}).get(environment, {}))
        env_scenarios = env.pop("scenarios", {})
        env_endpoints = env.pop("endpoints", {})
        merged: dict[str, float] = dict(doc["defaults"])
        if scenario:
            merged.update(doc.get("scenarios", {}).get(scenario, {}))
        merged.update(env)
        if scenario:
            merged.update(env_scenarios.get(scenario, {}))
        endpoints: dict[str, dict[str, float]] = {k: dict(v) for k, v in doc.get("endpoints", {}).items()}
        for key, figures in env_endpoints.items():
            endpoints.setdefault(key, {}).update(figures)
        missing = [k for k in _CORE[:-1] if k not in merged]
        if missing:
            raise BaselineError(f"{self.source}: defaults lack {', '.join(missing)}")
        core = {k: float(merged.pop(k)) for k in _CORE if k in merged}
        return Baseline(environment, scenario, extra=merged, endpoints=endpoints, source=self.source, **core)


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return json.loads((resources.files("pytest_artemis") / "data" / "baselines.schema.json").read_text())


def load_baselines(path: Path | None = None) -> Baselines:
    """Load and validate a baselines file (the bundled one when ``path`` is None)."""
    path = path or BUNDLED_BASELINES
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise BaselineError(f"baselines file {path}: cannot be read ({err.strerror})") from err
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise BaselineError(f"baselines file {path}{where}: not valid YAML ({getattr(err, 'problem', err)})") from err
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for error in errors:
            key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
            lines.append(f"  {key}: {error.message}")
        raise BaselineError(f"baselines file {path} is invalid:\n" + "\n".join(lines))
    return Baselines(document, str(path))
