"""The frozen session configuration: every ``--artemis-*`` option declared once, resolved once.

Each option is declared once in :data:`OPTIONS` with its parser (:mod:`pytest_artemis.values`); ``plugin.py`` registers them as
command-line options and ini keys, and :func:`resolve` builds one :class:`ArtemisConfig` with the
precedence CLI > ini > ``ARTEMIS_*`` environment variable > default. No other module reads options.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pytest_artemis.errors import ConfigError
from pytest_artemis.redact import redact
from pytest_artemis.values import (
    parse_bool,
    parse_check_id,
    parse_choice,
    parse_context,
    parse_executable,
    parse_image,
    parse_k8s_version,
    parse_keep,
    parse_load_param,
    parse_name,
    parse_path,
    parse_port,
    parse_readable_file,
    parse_request_path,
    parse_restart_limit,
    parse_seconds,
    parse_url,
    parse_workers,
)

__all__ = [
    "ENVIRONMENTS",
    "OPTIONS",
    "PROFILES",
    "SEVERITIES",
    "SUMMARIES",
    "ArtemisConfig",
    "OptionSpec",
    "resolve",
]

PROFILES: tuple[str, ...] = ("smoke", "ci", "full")
ENVIRONMENTS: tuple[str, ...] = ("local", "staging", "production")
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")
SUMMARIES: tuple[str, ...] = ("short", "full", "none")


@dataclass(frozen=True)
class OptionSpec:
    """One ``--artemis-NAME`` option: also the ini key ``artemis_NAME`` and the variable ``ARTEMIS_NAME``."""

    name: str
    help: str
    parse: Callable[[str], Any]
    default: Any = None
    kind: Literal["value", "list", "flag"] = "value"
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return "--artemis-" + self.name

    @property
    def dest(self) -> str:
        return "artemis_" + self.name.replace("-", "_")

    @property
    def ini(self) -> str:
        return self.dest

    @property
    def env(self) -> str:
        return self.dest.upper()

    @property
    def field(self) -> str:
        return self.name.replace("-", "_")


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("target", "URL of the service under test (default: start the bundled reference service).",
               parse_url, metavar="URL"),
    OptionSpec("prometheus", "URL of a Prometheus server to query (default: start a local one).",
               parse_url, metavar="URL"),
    OptionSpec("prometheus-bin", "Prometheus server binary (default: 'prometheus' on PATH).",
               parse_executable, metavar="PATH"),
    OptionSpec("promtool-bin", "promtool binary (default: 'promtool' on PATH).", parse_executable, metavar="PATH"),
    OptionSpec("baselines", "Baselines YAML file (default: the bundled seed baselines).",
               parse_readable_file, metavar="FILE"),
    OptionSpec("profile", "Scenario profile scaling durations and users: smoke, ci or full.",
               parse_choice(PROFILES), default="ci"),
    OptionSpec("environment", "Environment whose baselines are in force: local, staging or production.",
               parse_choice(ENVIRONMENTS), default="local"),
    OptionSpec("verdict", "Write the mission verdict as JSON to FILE.", parse_path, metavar="FILE"),
    OptionSpec("report", "Write the Artemis Command Center mission report (one self-contained HTML file) to FILE.",
               parse_path, metavar="FILE"),
    OptionSpec("kubeconfig", "kubeconfig file for cluster gates.", parse_readable_file, metavar="FILE"),
    OptionSpec("context", "kubeconfig context for cluster gates.", parse_context, metavar="NAME"),
    OptionSpec("namespace", "Kubernetes namespace for cluster gates.", parse_name, default="default",
               metavar="NAME"),
    OptionSpec("require-cluster", "Cluster gates error (instead of skipping) when no Kubernetes cluster is configured.",
               parse_bool, default=False, kind="flag"),
    OptionSpec("keep-namespace", "Keep the session's ephemeral cluster namespace after the session (for debugging).",
               parse_bool, default=False, kind="flag"),
    OptionSpec("rollout-timeout", "Seconds a cluster rollout may take before the rollout gate fails.",
               parse_seconds, default=300.0, metavar="SECONDS"),
    OptionSpec("restart-limit", "Container restarts of a new pod during a rollout that fail it at once.",
               parse_restart_limit, default=2, metavar="N"),
    OptionSpec("manifests", "Kubernetes manifest files or directories to gate (kustomize directories rendered).",
               parse_path, default=("manifests",), kind="list", metavar="PATH"),
    OptionSpec("k8s-version", "Kubernetes version whose schemas validate manifests.", parse_k8s_version,
               default="1.34", metavar="X.Y"),
    OptionSpec("fail-on", "Lowest finding severity that fails a gate item: info, warning or critical.",
               parse_choice(SEVERITIES), default="critical"),
    OptionSpec("ignore-check", "Check id to skip everywhere (repeatable).", parse_check_id, default=(),
               kind="list", metavar="ID"),
    OptionSpec("rules", "Prometheus rule, config and promtool test files or directories to gate.",
               parse_path, default=("manifests/monitoring",), kind="list", metavar="PATH"),
    OptionSpec("dashboards", "Grafana dashboard JSON files or directories to gate.", parse_path,
               default=("dashboards",), kind="list", metavar="PATH"),
    OptionSpec("metric-inventory", "File listing known metric names (one a line) for rule/dashboard checks.",
               parse_readable_file, metavar="FILE"),
    OptionSpec("workers", "Locust workers: 0 runs one local process, N runs a master plus N workers.",
               parse_workers, default=0, metavar="N"),
    OptionSpec("workers-in-cluster", "Run the Locust master and the --artemis-workers workers as pods in the cluster "
               "namespace (manifests/loadgen) instead of local processes.", parse_bool, default=False, kind="flag"),
    OptionSpec("loadgen-image", "Image of the in-cluster Locust pods (default: the one in the loadgen manifests).",
               parse_image, metavar="IMAGE"),
    OptionSpec("loadgen-manifests", "Kustomize directory of the in-cluster load generators.", parse_path,
               default="manifests/loadgen", metavar="DIR"),
    OptionSpec("loadgen-target", "URL the in-cluster Locust pods send to (default: --artemis-target), e.g. the "
               "Service's in-cluster URL while --artemis-target is how this machine reaches it.", parse_url,
               metavar="URL"),
    OptionSpec("loadgen-port", "Port of the in-cluster Locust master (its Service, container and NetworkPolicy).",
               parse_port, default=5557, metavar="PORT"),
    OptionSpec("load-mode", "Load model of the load, spike and chaos scenarios: closed (users wait for their answers) "
               "or arrival (requests start on a fixed schedule; latency gated from the intended start).",
               parse_choice(("closed", "arrival")), default="closed"),
    OptionSpec("locustfile", "Your own Locust file (HttpUser/FastHttpUser classes) instead of the default mix.",
               parse_readable_file, metavar="FILE"),
    OptionSpec("load-path", "Path the default user mix GETs on a target that is not the reference service "
               "(repeatable; default /).", parse_request_path, default=(), kind="list", metavar="PATH"),
    OptionSpec("health-path", "Health endpoint checked before any load and sampled for availability (default: "
               "/health/ready, or / on a target that has none).", parse_request_path, metavar="PATH"),
    OptionSpec("allow-production-load", "Allow load scenarios against an environment marked production.",
               parse_bool, default=False, kind="flag"),
    OptionSpec("history", "Directory of per-scenario JSON history for regression gates.", parse_path,
               default=".artemis/history", metavar="DIR"),
    OptionSpec("artifacts", "Directory for run artifacts (logs, Locust reports, charts).", parse_path,
               default=".artemis/artifacts", metavar="DIR"),
    OptionSpec("load-param", "Load scenario parameter KEY=VALUE (users, requests, duration, max_users, step_size, "
               "rate, seed), repeatable.", parse_load_param, default=(), kind="list", metavar="KEY=VALUE"),
    OptionSpec("summary", "How much MISSION STATUS shows: short (figures of live gates, findings of failed ones), "
               "full (every figure and finding) or none (gate lines and the verdict).",
               parse_choice(SUMMARIES), default="short"),
    OptionSpec("keep-sessions", "Session artifact directories to keep under --artemis-artifacts (oldest removed).",
               parse_keep, default=10, metavar="N"),
)


@dataclass(frozen=True)
class ArtemisConfig:
    """Every setting of the session, resolved once (CLI > ini > env > default)."""

    rootdir: Path
    target: str | None = None
    prometheus: str | None = None
    prometheus_bin: Path | None = None
    promtool_bin: Path | None = None
    baselines: Path | None = None
    profile: str = "ci"
    environment: str = "local"
    verdict: Path | None = None
    report: Path | None = None
    kubeconfig: Path | None = None
    context: str | None = None
    namespace: str = "default"
    require_cluster: bool = False
    keep_namespace: bool = False
    rollout_timeout: float = 300.0
    restart_limit: int = 2
    manifests: tuple[Path, ...] = ()
    k8s_version: str = "1.34"
    fail_on: str = "critical"
    ignore_check: frozenset[str] = frozenset()
    rules: tuple[Path, ...] = ()
    dashboards: tuple[Path, ...] = ()
    metric_inventory: Path | None = None
    workers: int = 0
    workers_in_cluster: bool = False
    loadgen_image: str | None = None
    loadgen_manifests: Path = Path("manifests/loadgen")
    loadgen_target: str | None = None
    loadgen_port: int = 5557
    load_mode: str = "closed"
    locustfile: Path | None = None
    load_path: tuple[str, ...] = ()
    health_path: str | None = None
    allow_production_load: bool = False
    history: Path = Path(".artemis/history")
    artifacts: Path = Path(".artemis/artifacts")
    load_param: tuple[str, ...] = ()
    summary: str = "short"
    keep_sessions: int = 10
    #: Option names whose value came from the command line (gate paths given there are always collected).
    from_cli: frozenset[str] = field(default_factory=frozenset)
    #: Option names set anywhere (command line, ini or environment): a session that sets one uses the plugin.
    given: frozenset[str] = field(default_factory=frozenset)

    def as_public_dict(self) -> dict[str, Any]:
        """The config for reports, with credentials in URLs redacted."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (tuple, frozenset)):
                value = sorted(str(v) for v in value) if isinstance(value, frozenset) else [str(v) for v in value]
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, str):
                value = redact(value)
            out[f.name] = value
        return out


# --------------------------------------------------------------------------- resolution


def _parse_one(spec: OptionSpec, raw: str, source: str) -> Any:
    try:
        return spec.parse(raw)
    except ValueError as err:
        raise ConfigError(f"{source} got {raw!r}; it accepts {err}") from err


def _parse_list(spec: OptionSpec, raws: Sequence[str], source: str) -> tuple[Any, ...]:
    return tuple(_parse_one(spec, raw, source) for raw in raws if raw.strip())


def _given(value: Any) -> bool:
    return value not in (None, "", [], ())


def _pick(spec: OptionSpec, cli: Mapping[str, Any], ini: Mapping[str, Any],
          env: Mapping[str, str]) -> tuple[str, Any] | None:
    """(source, raw value) of the first of CLI, ini and environment that sets ``spec``; None for the default."""
    cli_value = cli.get(spec.dest)
    if spec.kind == "flag" and cli_value:
        return spec.flag, True
    if spec.kind != "flag" and _given(cli_value):
        return spec.flag, cli_value
    if _given(ini.get(spec.ini)):
        return f"ini key {spec.ini}", ini[spec.ini]
    if _given(env.get(spec.env)):
        raw: Any = env[spec.env].split(",") if spec.kind == "list" else env[spec.env]
        return f"environment variable {spec.env}", raw
    return None


def _value(spec: OptionSpec, source: str, raw: Any) -> Any:
    if spec.kind == "flag":
        return raw if raw is True else _parse_one(spec, str(raw), source)
    if spec.kind == "list":
        return _parse_list(spec, list(raw), source)
    return _parse_one(spec, str(raw), source)


def _default(spec: OptionSpec) -> Any:
    if spec.kind == "list":
        return tuple(spec.parse(v) for v in spec.default)
    if isinstance(spec.default, str) and spec.parse is parse_path:
        return spec.parse(spec.default)
    return spec.default


_GATE_PATHS = ("manifests", "rules", "dashboards")
_DIRS = ("history", "artifacts", "loadgen_manifests")


def resolve(
    cli: Mapping[str, Any],
    ini: Mapping[str, Any],
    env: Mapping[str, str],
    rootdir: Path,
    invocation_dir: Path | None = None,
) -> ArtemisConfig:
    """Build the frozen config; ``cli`` maps dest -> raw value (None when not given), ``ini`` likewise.

    Relative paths from the command line or the environment are taken from ``invocation_dir`` (where pytest
    was started); those from the ini file or the defaults from ``rootdir``. Gate paths that were set on
    purpose (not the defaults) must exist.
    """
    values: dict[str, Any] = {}
    from_cli: set[str] = set()
    given_by: dict[str, str] = {}
    for spec in OPTIONS:
        picked = _pick(spec, cli, ini, env)
        if picked is None:
            values[spec.field] = _default(spec)
            continue
        source, raw = picked
        values[spec.field] = _value(spec, source, raw)
        given_by[spec.field] = source
        if source == spec.flag:
            from_cli.add(spec.field)
    values["ignore_check"] = frozenset(values["ignore_check"])

    def base(field: str) -> Path:
        source = given_by.get(field)
        if invocation_dir is None or source is None or source.startswith("ini key"):
            return rootdir
        return invocation_dir

    for key in _GATE_PATHS:
        values[key] = tuple(p if p.is_absolute() else base(key) / p for p in values[key])
        if key in given_by:
            missing = [str(p) for p in values[key] if not p.exists()]
            if missing:
                raise ConfigError(f"{given_by[key]} got {', '.join(missing)}; it accepts existing files or "
                                  "directories (nothing is there)")
    for key in _DIRS:
        if not values[key].is_absolute():
            values[key] = base(key) / values[key]
    if values["workers_in_cluster"] and not values["workers"]:
        raise ConfigError(f"{given_by['workers_in_cluster']} needs --artemis-workers N (N >= 1): the workers are the "
                          "pods it runs")
    return ArtemisConfig(rootdir=rootdir, from_cli=frozenset(from_cli), given=frozenset(given_by), **values)
