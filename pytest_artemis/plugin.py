"""pytest-artemis hook implementations (hooks only; logic lives in the modules they call).

Sections: options, configuration, collection, reporting, session end. The plugin is quiet unless the
session uses it (an Artemis option set, an Artemis marker on a collected test or in ``-m``, an Artemis
fixture requested, or an Artemis gate path collected): only then does it install signal handlers, write
MISSION STATUS, publish to Allure or keep the verdict file. ``--collect-only`` runs nothing and reports
nothing.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from typing import Any

import pytest

from pytest_artemis import collect as _collect
from pytest_artemis import families as _families
from pytest_artemis.baselines import load_baselines
from pytest_artemis.config import OPTIONS, ArtemisConfig, resolve
from pytest_artemis.errors import ArtemisError, ConfigError, LoadError
from pytest_artemis.load.scenarios import parse_params
from pytest_artemis.record import SessionRecord
from pytest_artemis.redact import register_url
from pytest_artemis.reporting import allure as _allure
from pytest_artemis.reporting import allure_session as _allure_session
from pytest_artemis.reporting import terminal as _terminal
from pytest_artemis.reporting.verdict import VerdictWriter, atomic_write, journal_of
from pytest_artemis.services import processes as _processes
from pytest_artemis.sessions import SessionDir, new_name
from pytest_artemis.stash import CONFIG_KEY, RECORD_KEY, SESSION_DIR_KEY

pytest_plugins = [
    "pytest_artemis.fixtures.core",
    "pytest_artemis.fixtures.services",
    "pytest_artemis.fixtures.load",
    "pytest_artemis.fixtures.observability",
    "pytest_artemis.fixtures.probes",
    "pytest_artemis.fixtures.cluster",
]

GATE_PROPERTY = "artemis_gate"
_WORKER_SESSION = "artemis_session_dir"


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


def _session_name(config: pytest.Config) -> str:
    workerinput = getattr(config, "workerinput", None)
    if workerinput and workerinput.get(_WORKER_SESSION):
        return str(workerinput[_WORKER_SESSION])
    return new_name()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for name, description in _families.markers().items():
        config.addinivalue_line("markers", f"{name}: {description}")
    cli = {spec.dest: config.getoption(spec.dest) for spec in OPTIONS}
    ini = {spec.ini: config.getini(spec.ini) for spec in OPTIONS}
    try:
        cfg = resolve(cli, ini, os.environ, config.rootpath, config.invocation_params.dir)
        _check_load_params(cfg)
        if cfg.baselines is not None:
            load_baselines(cfg.baselines)
    except ArtemisError as err:
        _usage_error_verdict(cli, config, str(err))
        raise pytest.UsageError(str(err)) from err
    for url in (cfg.target, cfg.prometheus):  # their secrets are masked in every form, on every process
        if url:
            register_url(url)
    sessions = SessionDir(cfg.artifacts, _session_name(config), cfg.keep_sessions)
    record = SessionRecord(cfg.as_public_dict())
    record.session_dir = str(sessions.planned)
    config.stash[CONFIG_KEY] = cfg
    config.stash[RECORD_KEY] = record
    config.stash[SESSION_DIR_KEY] = sessions
    explicit = config.args_source == pytest.Config.ArgsSource.ARGS
    config.args.extend(_collect.extra_args(cfg, config.args, explicit))  # workers too: they collect
    writer = None
    if cfg.verdict is not None and not hasattr(config, "workerinput"):
        writer = VerdictWriter(cfg.verdict)
        try:  # NO-GO until the session completes; a killed session leaves no GO
            writer.start(record) if not config.option.collectonly else atomic_write(cfg.verdict, record.to_json())
        except ConfigError as err:
            raise pytest.UsageError(str(err)) from err
    config.pluginmanager.register(ArtemisSessionHooks(config, writer), "artemis-session")


def _check_load_params(cfg: ArtemisConfig) -> None:
    """Load parameters name known keys within their ranges (the scenario table owns both)."""
    source = "--artemis-load-param" if "load_param" in cfg.from_cli else "ini key/environment artemis_load_param"
    for raw in cfg.load_param:
        try:
            parse_params([raw])
        except LoadError as err:
            raise ConfigError(f"{source} got {raw!r}; it accepts {str(err).removeprefix('load parameter ')}") from err


def _usage_error_verdict(cli: dict[str, Any], config: pytest.Config, message: str) -> None:
    """A usage error still replaces an older verdict file (when one is named) with a NO-GO saying why."""
    raw = cli.get("artemis_verdict") or os.environ.get("ARTEMIS_VERDICT") or config.getini("artemis_verdict")
    if not raw or hasattr(config, "workerinput"):
        return
    path = config.invocation_params.dir / str(raw)
    record = SessionRecord({})
    record.status = "crashed"
    record.crash = f"usage error: {message}"
    record.finished = time.time()
    with contextlib.suppress(ConfigError, OSError):
        atomic_write(path, record.to_json())
        journal_of(path).unlink(missing_ok=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:  # pytest-xdist: workers share the controller's session directory
    sessions = node.config.stash.get(SESSION_DIR_KEY, None)
    if sessions is not None:
        node.workerinput[_WORKER_SESSION] = sessions.name


# ----------------------------------------------------------------------------- collection


def pytest_collect_file(file_path: Any, parent: pytest.Collector) -> pytest.Collector | None:
    return _collect.collect_file(file_path, parent, parent.config.stash[CONFIG_KEY])


# ----------------------------------------------------------------------------- reporting and session end


class ArtemisSessionHooks:
    """Per-session hooks (one instance per pytest.Config, so nested pytester sessions stay apart)."""

    def __init__(self, config: pytest.Config, writer: VerdictWriter | None = None) -> None:
        self.config = config
        self.writer = writer
        self.cfg: ArtemisConfig = config.stash[CONFIG_KEY]
        self.record: SessionRecord = config.stash[RECORD_KEY]
        self.is_worker = hasattr(config, "workerinput")
        self.collect_only = bool(config.option.collectonly)
        self.active = False
        self.alluredir = _allure.alluredir(config)
        self._unregister = lambda: None
        self.write_error = ""
        if not self.collect_only and (self.cfg.given or _marker_selected(config)):  # an option or a marker in -m
            self._activate()

    def _activate(self) -> None:
        if self.active:
            return
        self.active = True
        if self.is_worker:  # a worker whose controller dies stops its services at once (not after its test)
            _processes.install_signal_handlers()
            _processes.follow_parent()
        else:  # SIGTERM/SIGHUP (a CI timeout): the verdict file says so before the session dies
            _processes.install_signal_handlers()
            self._unregister = _processes.on_fatal_signal(self._terminated)
            self._write_verdict(final=False)

    def _terminated(self, sig: int) -> None:
        self.record.status = "interrupted"
        self.record.crash = f"terminated by {signal.Signals(sig).name}"
        self._write_verdict(final=True)
        where = f"; verdict in {self.cfg.verdict}" if self.cfg.verdict else ""
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        if capture is not None:  # the line goes to the real terminal, not into a test's captured output
            with contextlib.suppress(Exception):
                capture.suspend_global_capture(in_=True)
        os.write(2, f"\nartemis: session terminated by {signal.Signals(sig).name}{where}\n".encode())

    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        problems = []
        for item in items:
            try:
                family = _family(item)
            except _families.FamilyConflict as err:
                problems.append(f"{item.nodeid}: {err}")
                continue
            item.stash[_FAMILY_KEY] = family.name
        if problems:
            raise pytest.UsageError("gate families:\n  " + "\n  ".join(problems))
        if not self.collect_only and not self.active and _uses_artemis(config, items):
            self._activate()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        try:
            return (yield)
        finally:
            if self.alluredir is not None and self.active:
                _allure.publish_item(item, item.stash.get(_FAMILY_KEY, "other"))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if self.active:
            item.user_properties.append((GATE_PROPERTY, item.stash.get(_FAMILY_KEY, "other")))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        if not self.active and any(name == GATE_PROPERTY for name, _ in report.user_properties):
            self._activate()  # under xdist the workers collect: the first report of an Artemis test says so
        if not self.active:
            return
        gate = next((str(value) for name, value in report.user_properties if name == GATE_PROPERTY), None)
        self.record.add_report(report, gate or "other")
        if report.when == "teardown":
            self._write_verdict(final=False, nodeid=report.nodeid)

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int) -> None:
        if not self.is_worker and self.active:
            _terminal.write_mission_status(terminalreporter, self.record, self.cfg)
            if self.write_error:
                terminalreporter.write_line(f"  {self.write_error}", red=True, bold=True)

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
        if self.is_worker or not self.active:
            return
        if self.alluredir is not None:
            _allure_session.write_session_files(self.alluredir, self.record)
        if self.cfg.report is not None:
            from pytest_artemis.reporting.html import write_report

            try:
                write_report(self.record.as_dict(), self.cfg.report)
            except ConfigError as err:  # the report is lost, the verdict is not: say so at the end
                self.write_error = str(err)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self._unregister()
        if self.record.status == "running":
            self.record.status = "crashed"
            self.record.crash = self.record.crash or "session ended before it finished"
            self._write_verdict(final=True)

    def _write_verdict(self, *, final: bool, nodeid: str = "") -> None:
        """The finished test into the journal (and the small head), or the whole verdict at the end."""
        if final:
            self.record.finished = time.time()
        if self.writer is None or not self.active:
            return
        try:
            if final:
                self.writer.finish(self.record)
            elif nodeid:
                self.writer.test_done(self.record, self.record.tests[nodeid])
            else:
                self.writer.start(self.record)
        except ConfigError as err:  # the disk filled up mid-run: say so at the end, never crash the session
            self.write_error = str(err)


_FAMILY_KEY = pytest.StashKey[str]()


def _family(item: pytest.Item) -> _families.GateFamily:
    explicit = item.get_closest_marker(_families.FAMILY_MARKER)
    name = str(explicit.args[0]) if explicit is not None and explicit.args else None
    return _families.family_of((m.name for m in item.iter_markers()), name)


def _uses_artemis(config: pytest.Config, items: list[pytest.Item]) -> bool:
    """An Artemis marker in ``-m`` or on a collected test, an Artemis fixture requested, a gate item collected."""
    from pytest_artemis.checks.items import GateItem

    if _marker_selected(config):
        return True
    for item in items:
        if isinstance(item, GateItem):
            return True
        if any(_families.is_artemis_marker(m.name) and m.name != "smoke" for m in item.iter_markers()):
            return True
        if _requests_artemis_fixture(item):
            return True
    return False


def _marker_selected(config: pytest.Config) -> bool:
    """``-m`` names an Artemis marker."""
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", str(config.option.markexpr or "")))
    return any(_families.is_artemis_marker(word) and word != "smoke" for word in words)


def _requests_artemis_fixture(item: pytest.Item) -> bool:
    """The item's fixture closure holds a fixture defined by the plugin."""
    info = getattr(item, "_fixtureinfo", None)
    for defs in getattr(info, "name2fixturedefs", {}).values():
        if any(str(getattr(d.func, "__module__", "")).startswith("pytest_artemis.") for d in defs):
            return True
    return False
