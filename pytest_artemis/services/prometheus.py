"""Start and stop a real Prometheus server scraping the target every second (no pytest imports).

:class:`PrometheusServer` writes a generated config (1 s scrape of the target's ``/metrics`` as job
``artemis``, 1 s rule evaluation, the project's rule files), starts the binary on a free 127.0.0.1 port
with a TSDB in a private directory under the session's temp directory (:mod:`.tempdirs`), waits until
``up{job="artemis"} == 1`` and removes everything on stop.

A protected target (``metrics_token``): the token goes to a file of mode 0600 in that private directory
(0700) and the scrape job sends it with ``authorization: {type: Bearer, credentials_file: ...}``; the token
itself is in no config, command line or log.

Its clients (:meth:`PrometheusServer.client`) explain an unreachable server with the process' state and the
tail of its log.

Rule files are every ``*.yaml``/``*.yml`` under the given paths whose top level has ``groups:``. A file
that does not parse or that ``promtool check rules`` rejects is left out and named in :attr:`notes` (one
line each); if Prometheus still refuses to start with the rule files, it starts without them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

import yaml

from pytest_artemis.clients.prom import PromClient
from pytest_artemis.errors import PrometheusError, PrometheusUnavailableError, ServiceStartError
from pytest_artemis.redact import redact_url
from pytest_artemis.services import tempdirs
from pytest_artemis.services.processes import ManagedProcess, free_port

__all__ = ["INSTALL_HINT", "JOB", "PrometheusServer", "discover_rule_files", "find_binary", "scrape_config"]

JOB = "artemis"
INSTALL_HINT = ("Prometheus server not found: install it with `apt-get install prometheus` "
                "(or pass --artemis-prometheus-bin PATH, or --artemis-prometheus URL of a running server)")


def find_binary(configured: Path | None, name: str = "prometheus") -> Path:
    """The configured binary, else ``name`` on PATH; :class:`PrometheusUnavailableError` with the install line."""
    if configured is not None:
        return configured
    found = shutil.which(name)
    if found is None:
        raise PrometheusUnavailableError(INSTALL_HINT)
    return Path(found)


def discover_rule_files(paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """Rule files (top-level ``groups:``) under ``paths`` and one note per YAML file that does not parse."""
    found: list[Path] = []
    notes: list[str] = []
    for root in paths:
        candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) \
            if root.is_dir() else []
        for path in candidates:
            if path.suffix not in (".yaml", ".yml"):
                continue
            try:
                document = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
                problem = str(err).splitlines()[0] if str(err) else type(err).__name__
                notes.append(f"rule file {path} skipped: not readable YAML ({problem})")
                continue
            if isinstance(document, dict) and "groups" in document:
                found.append(path)
    return found, notes


def _promtool_rejects(promtool: Path, path: Path) -> str | None:
    """promtool's one-line reason for rejecting ``path``, or None when it passes."""
    try:
        result = subprocess.run([str(promtool), "check", "rules", str(path)],
                                capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"promtool could not check it: {err}"
    if result.returncode == 0:
        return None
    lines = [ln.strip() for ln in (result.stderr + result.stdout).splitlines() if ln.strip()]
    errors = [ln for ln in lines if not ln.startswith(("Checking", "FAILED", "SUCCESS"))]
    return (errors or lines or [f"exit code {result.returncode}"])[0]


def scrape_config(target_url: str, rule_files: Sequence[Path],
                  credentials_file: Path | None = None) -> dict[str, object]:
    """The generated Prometheus config: 1 s scrape of ``target_url``'s /metrics, 1 s evaluation; with
    ``credentials_file`` the scrape sends its content as a bearer token."""
    parts = urlsplit(target_url)
    job: dict[str, object] = {
        "job_name": JOB,
        "scheme": parts.scheme or "http",
        "metrics_path": (parts.path.rstrip("/") or "") + "/metrics",
        "static_configs": [{"targets": [parts.netloc.rpartition("@")[2]]}],
    }
    if credentials_file is not None:
        job["authorization"] = {"type": "Bearer", "credentials_file": str(credentials_file)}
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": [job],
    }


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a new file only its owner may read (0600, whatever the umask)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(text)


class PrometheusServer:
    """A Prometheus server of the session's own, scraping one target.

    ``promtool`` defaults to the one on PATH; ``check_rules=False`` skips the promtool pre-check, so only
    Prometheus itself judges the rule files (and the start-without-them fallback applies). ``metrics_token``
    is the bearer token of a protected target; ``workdir_root`` is where its private directory goes (default:
    the session's temp directory).
    """

    def __init__(self, target_url: str, *, binary: Path, log_dir: Path, rule_paths: Iterable[Path] = (),
                 promtool: Path | None = None, check_rules: bool = True, metrics_token: str | None = None,
                 workdir_root: Path | None = None) -> None:
        self.target_url = target_url
        self.metrics_token = metrics_token
        self.workdir_root = workdir_root
        self.binary = binary
        self.log_dir = Path(log_dir)
        self.rule_paths = list(rule_paths)
        found = shutil.which("promtool")
        self.promtool = (promtool or (Path(found) if found else None)) if check_rules else None
        self.notes: list[str] = []
        self.rule_files: list[Path] = []
        self.process: ManagedProcess | None = None
        self.url = ""
        self._workdir: Path | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def workdir(self) -> Path | None:
        """The private directory (config, token file, TSDB) while the server runs."""
        return self._workdir

    def explain(self) -> str:
        """The server process' state and the tail of its log, for messages about an unreachable server."""
        return self.process.diagnosis() if self.process is not None else "the embedded Prometheus was never started"

    def _select_rules(self) -> list[Path]:
        files, notes = discover_rule_files(self.rule_paths)
        self.notes.extend(notes)
        kept = []
        for path in files:
            reason = _promtool_rejects(self.promtool, path) if self.promtool is not None else None
            if reason is None:
                kept.append(path)
            else:
                self.notes.append(f"rule file {path} skipped: promtool check rules failed: {reason}")
        return kept

    def _launch(self, rule_files: list[Path], timeout: float) -> None:
        assert self._workdir is not None
        config = self._workdir / "prometheus.yml"
        token_file = self._workdir / "metrics-token"
        if self.metrics_token is not None and not token_file.exists():
            _write_private(token_file, self.metrics_token)
        credentials = token_file if self.metrics_token is not None else None
        config.write_text(yaml.safe_dump(scrape_config(self.target_url, rule_files, credentials), sort_keys=False))
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        tsdb = self._workdir / "tsdb"
        tsdb.mkdir(exist_ok=True)
        self.process = ManagedProcess(
            "prometheus",
            [str(self.binary), f"--config.file={config}", f"--storage.tsdb.path={tsdb}",
             f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1d", "--log.level=info"],
            log_path=self.log_dir / f"prometheus-{port}.log", cwd=self._workdir, stop_timeout=10.0)
        self.process.start()
        client = PromClient(self.url, timeout=2.0)
        try:
            self.process.wait_ready(client.ready, timeout=timeout, what=f"GET {self.url}/-/ready answers 200")
        finally:
            client.close()
        self.rule_files = rule_files

    def start(self, timeout: float = 30.0, require_up: bool = True) -> Self:
        """Start, then wait until the target is scraped (``up == 1``; ``require_up=False``: scraped at all,
        successfully or not, e.g. to see ``up == 0`` with a wrong token)."""
        self._workdir = tempdirs.mkdtemp("artemis-prometheus-", self.workdir_root)
        try:
            rule_files = self._select_rules()
            try:
                self._launch(rule_files, timeout)
            except ServiceStartError as err:
                if not rule_files:
                    raise
                self.notes.append("Prometheus refused the rule files; started without them: "
                                  + str(err).splitlines()[-1][:200])
                self.process = None
                self._launch([], timeout)
            self._wait_scraped(timeout, require_up)
        except BaseException:  # a failed start (or Ctrl-C while starting) leaves no process and no TSDB behind
            self.stop()
            raise
        return self

    def _wait_scraped(self, timeout: float, require_up: bool = True) -> None:
        client = PromClient(self.url, timeout=2.0, explain=self.explain)
        try:
            if require_up:
                client.wait_for(f'max(up{{job="{JOB}"}})', lambda v: v == 1, timeout=timeout, interval=0.2,
                                description="the target to be scraped (up == 1)")
            else:
                client.wait_for(f'max(up{{job="{JOB}"}})', timeout=timeout, interval=0.2,
                                description="a first scrape of the target")
        except PrometheusError as err:
            try:
                why = "; ".join(f"{t.url}: {t.last_error}" for t in client.targets() if t.last_error) or str(err)
            except PrometheusError:
                why = str(err)
            raise ServiceStartError(f"Prometheus cannot scrape {redact_url(self.target_url)}/metrics: {why}") from None
        finally:
            client.close()

    def client(self) -> PromClient:
        """A client of this server whose errors explain an unreachable server (process state, log tail)."""
        return PromClient(self.url, explain=self.explain)

    def stop(self) -> int | None:
        """Stop the server and remove its TSDB and config."""
        code = self.process.stop() if self.process is not None else None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        return code

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
