"""pytest-artemis hook implementations (hooks only; logic lives in the modules they call).

Sections: options, configuration, collection, reporting, session end.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest

from pytest_artemis import collect as _collect
from pytest_artemis import theme
from pytest_artemis.baselines import load_baselines
from pytest_artemis.config import OPTIONS, ArtemisConfig, resolve
from pytest_artemis.errors import ConfigError
from pytest_artemis.record import GATES, SessionRecord, gate_of
from pytest_artemis.reporting import allure as _allure
from pytest_artemis.reporting import terminal as _terminal
from pytest_artemis.services import processes as _processes

pytest_plugins = [
    "pytest_artemis.fixtures.core",
    "pytest_artemis.fixtures.services",
    "pytest_artemis.fixtures.load",
]

CONFIG_KEY = pytest.StashKey[ArtemisConfig]()
RECORD_KEY = pytest.StashKey[SessionRecord]()

MARKERS: dict[str, str] = {
    "manifests": "Kubernetes manifest gate: schema and policy checks on manifests.",
    "probes": "health probe gate: liveness, readiness and startup endpoints of the target.",
    "rules": "Prometheus rule gate: promtool checks, rule unit tests, PromQL and naming checks.",
    "dashboards": "Grafana dashboard gate: schema, layout, query and theme checks.",
    "load": "load scenario: N users, R requests each, gated on the baselines.",
    "spike": "spike scenario: normal load, sudden 5x spike, recovery analysis.",
    "endurance": "endurance scenario: sustained load with memory-leak detection.",
    "scalability": "scalability scenario: users stepped up to find the knee.",
    "chaos": "chaos scenario: seeded random load with faults switched on the target.",
    "cluster": "needs a Kubernetes API server (--artemis-kubeconfig / --artemis-context).",
    "rollout": "rollout gate: rolling deployment keeps serving while it progresses.",
    "smoke": "quick check that fits in every pipeline run.",
}


# ----------------------------------------------------------------------------- options


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("artemis", "pytest-artemis release gates")
    for spec in OPTIONS:
        if spec.kind == "flag":
            group.addoption(spec.flag, action="store_true", default=None, dest=spec.dest, help=spec.help)
            parser.addini(spec.ini, spec.help + f" (env {spec.env})", default="")
        elif spec.kind == "list":
            group.addoption(spec.flag, action="extend", nargs="+", default=None, dest=spec.dest,
                            metavar=spec.metavar, help=spec.help)
            parser.addini(spec.ini, spec.help + f" (env {spec.env}, comma-separated)", type="args", default=[])
        else:
            group.addoption(spec.flag, action="store", default=None, dest=spec.dest, metavar=spec.metavar,
                            help=spec.help + (f" Default: {spec.default}." if spec.default is not None else ""))
            parser.addini(spec.ini, spec.help + f" (env {spec.env})", default="")


# ----------------------------------------------------------------------------- configuration


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    cli = {spec.dest: config.getoption(spec.dest) for spec in OPTIONS}
    ini = {spec.ini: config.getini(spec.ini) for spec in OPTIONS}
    try:
        cfg = resolve(cli, ini, os.environ, config.rootpath, config.invocation_params.dir)
        if cfg.baselines is not None:
            load_baselines(cfg.baselines)
        record = SessionRecord(cfg.as_public_dict())
        if cfg.verdict is not None and not hasattr(config, "workerinput"):
            record.write(cfg.verdict)
    except ConfigError as err:
        raise pytest.UsageError(str(err)) from err
    config.stash[CONFIG_KEY] = cfg
    config.stash[RECORD_KEY] = record
    explicit = config.args_source == pytest.Config.ArgsSource.ARGS
    config.args.extend(_collect.extra_args(cfg, config.args, explicit))  # workers too: they collect
    config.pluginmanager.register(ArtemisSessionHooks(config), "artemis-session")


# ----------------------------------------------------------------------------- collection


def pytest_collect_file(file_path: Any, parent: pytest.Collector) -> pytest.Collector | None:
    return _collect.collect_file(file_path, parent, parent.config.stash[CONFIG_KEY])


# ----------------------------------------------------------------------------- reporting and session end


class ArtemisSessionHooks:
    """Per-session hooks (one instance per pytest.Config, so nested pytester sessions stay apart)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.cfg = config.stash[CONFIG_KEY]
        self.record = config.stash[RECORD_KEY]
        self.is_worker = hasattr(config, "workerinput")
        self.alluredir = _allure.alluredir(config)
        self._unregister = lambda: None
        self.write_error = ""
        if self.is_worker:  # a worker whose controller dies stops its services at once (not after its test)
            _processes.install_signal_handlers()
            _processes.follow_parent()
        else:  # SIGTERM/SIGHUP (a CI timeout): the verdict file says so before the session dies
            _processes.install_signal_handlers()
            self._unregister = _processes.on_fatal_signal(self._terminated)

    def _terminated(self, sig: int) -> None:
        self.record.status = "interrupted"
        self.record.crash = f"terminated by {signal.Signals(sig).name}"
        self._write_verdict(final=True)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        try:
            return (yield)
        finally:
            if self.alluredir is not None:
                _allure.publish_item(item, gate_of(m.name for m in item.iter_markers()))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        item.user_properties.append((GATE_PROPERTY, gate_of(m.name for m in item.iter_markers())))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        gate = next((str(value) for name, value in report.user_properties if name == GATE_PROPERTY), None)
        self.record.add_report(report, gate or gate_of(k for k in report.keywords if k in _ALL_MARKERS))
        if report.when == "teardown":
            self._write_verdict(final=False)

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int) -> None:
        if not self.is_worker:
            _terminal.write_mission_status(terminalreporter, self.record, self.cfg)
            if self.write_error:
                terminalreporter.write_line(f"  {self.write_error}", **theme.TERMINAL_MARKUP["critical"])

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.record.status = "interrupted"
        self._write_verdict(final=True)

    def pytest_internalerror(self, excrepr: Any, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.record.status = "crashed"
        text = str(excrepr).strip()
        self.record.crash = text.splitlines()[-1] if text else repr(excinfo.value)
        self._write_verdict(final=True)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.record.status == "running":
            if exitstatus == pytest.ExitCode.INTERRUPTED:
                self.record.status = "interrupted"
            elif exitstatus == pytest.ExitCode.INTERNAL_ERROR:
                self.record.status = "crashed"
            else:
                self.record.status = "complete"
        self._write_verdict(final=True)
        if self.alluredir is not None and not self.is_worker:
            _allure.write_session_files(self.alluredir, self.record)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self._unregister()
        if self.record.status == "running":
            self.record.status = "crashed"
            self.record.crash = self.record.crash or "session ended before it finished"
            self._write_verdict(final=True)

    def _write_verdict(self, *, final: bool) -> None:
        if final:
            self.record.finished = time.time()
        if self.cfg.verdict is not None and not self.is_worker:
            try:
                self.record.write(self.cfg.verdict)
            except ConfigError as err:  # the disk filled up mid-run: say so at the end, never crash the session
                self.write_error = str(err)


_ALL_MARKERS = {m for markers in GATES.values() for m in markers}
GATE_PROPERTY = "artemis_gate"
