"""Start and stop a real Prometheus server scraping the target every second (no pytest imports).

:class:`PrometheusServer` writes a generated config (1 s scrape of the target's ``/metrics`` as job
``artemis``, 1 s rule evaluation, the project's rule files), starts the binary on a free 127.0.0.1 port
with a temporary TSDB directory, waits until ``up{job="artemis"} == 1`` and removes everything on stop.

Rule files are every ``*.yaml``/``*.yml`` under the given paths whose top level has ``groups:``. A file
that does not parse or that ``promtool check rules`` rejects is left out and named in :attr:`notes` (one
line each); if Prometheus still refuses to start with the rule files, it starts without them.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

import yaml

from pytest_artemis.clients.prom import PromClient
from pytest_artemis.errors import PrometheusError, PrometheusUnavailableError, ServiceStartError
from pytest_artemis.redact import redact_url
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


def scrape_config(target_url: str, rule_files: Sequence[Path]) -> dict[str, object]:
    """The generated Prometheus config: 1 s scrape of ``target_url``'s /metrics, 1 s evaluation."""
    parts = urlsplit(target_url)
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": [{
            "job_name": JOB,
            "scheme": parts.scheme or "http",
            "metrics_path": (parts.path.rstrip("/") or "") + "/metrics",
            "static_configs": [{"targets": [parts.netloc.rpartition("@")[2]]}],
        }],
    }


class PrometheusServer:
    """A Prometheus server of the session's own, scraping one target.

    ``promtool`` defaults to the one on PATH; ``check_rules=False`` skips the promtool pre-check, so only
    Prometheus itself judges the rule files (and the start-without-them fallback applies).
    """

    def __init__(self, target_url: str, *, binary: Path, log_dir: Path, rule_paths: Iterable[Path] = (),
                 promtool: Path | None = None, check_rules: bool = True) -> None:
        self.target_url = target_url
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
        config.write_text(yaml.safe_dump(scrape_config(self.target_url, rule_files), sort_keys=False))
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        tsdb = self._workdir / "tsdb"
        tsdb.mkdir(exist_ok=True)
        self.process = ManagedProcess(
            "prometheus",
            [str(self.binary), f"--config.file={config}", f"--storage.tsdb.path={tsdb}",
             f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1d", "--log.level=warn"],
            log_path=self.log_dir / f"prometheus-{port}.log", cwd=self._workdir, stop_timeout=10.0)
        self.process.start()
        client = PromClient(self.url, timeout=2.0)
        try:
            self.process.wait_ready(client.ready, timeout=timeout, what=f"GET {self.url}/-/ready answers 200")
        finally:
            client.close()
        self.rule_files = rule_files

    def start(self, timeout: float = 30.0) -> Self:
        """Start, then wait until the target is scraped (``up == 1``)."""
        self._workdir = Path(tempfile.mkdtemp(prefix="artemis-prometheus-"))
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
            self._wait_scraped(timeout)
        except BaseException:  # a failed start (or Ctrl-C while starting) leaves no process and no TSDB behind
            self.stop()
            raise
        return self

    def _wait_scraped(self, timeout: float) -> None:
        client = PromClient(self.url, timeout=2.0)
        try:
            client.wait_for(f'max(up{{job="{JOB}"}})', lambda v: v == 1, timeout=timeout, interval=0.2,
                            description="the target to be scraped (up == 1)")
        except PrometheusError as err:
            why = "; ".join(f"{t.url}: {t.last_error}" for t in client.targets() if t.last_error) or str(err)
            raise ServiceStartError(f"Prometheus cannot scrape {redact_url(self.target_url)}/metrics: {why}") from err
        finally:
            client.close()

    def client(self) -> PromClient:
        return PromClient(self.url)

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
