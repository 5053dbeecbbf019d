"""One field exercise: run a plan, check the steady state (chaos), evaluate the gates, write the artifacts.

:class:`Exercise` is what the fixtures hand to a test. It ties the runner, the evaluation and the
artifacts together without knowing about pytest: the fixture records :attr:`Exercise.evaluation`'s
findings and artifacts and calls :meth:`Exercise.assert_gates`, which fails once listing every broken gate.
A run whose figures cannot be trusted (a saturated generator, a lost worker, a dropped iteration) raises
:class:`~pytest_artemis.errors.RunInvalidError` instead: the run is invalid, not failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pytest_artemis.baselines import Baseline
from pytest_artemis.errors import GeneratorSaturatedError, InconclusiveError, RunInvalidError
from pytest_artemis.findings import Finding
from pytest_artemis.load import charts, gates
from pytest_artemis.load.evaluate import Evaluation, evaluate, window_monitors
from pytest_artemis.load.history import History
from pytest_artemis.load.results import RunResult
from pytest_artemis.load.runner import LoadRunner, RunOptions, steady_state
from pytest_artemis.load.scenarios import Plan
from pytest_artemis.redact import redact

__all__ = ["STEADY_STATE_PATHS", "Exercise"]

#: What the chaos steady-state hypothesis probes before and after the run.
STEADY_STATE_PATHS: tuple[str, ...] = ("/health/ready", "/api/v1/missions")


@dataclass
class Exercise:
    plan: Plan
    options: RunOptions
    baseline: Baseline
    history: History | None = None
    runner: LoadRunner = field(default_factory=LoadRunner)
    result: RunResult | None = None
    evaluation: Evaluation = field(default_factory=Evaluation)
    artifacts: dict[str, Path] = field(default_factory=dict)
    steady_paths: tuple[str, ...] = STEADY_STATE_PATHS

    def _steady(self, when: str) -> Finding:
        share, p95, problems = steady_state(self.options.target, self.steady_paths)
        return gates.steady_state_gate(when, share, p95, self.baseline.limit_with_tolerance("p95_ms"),
                                       self.steady_paths, problems)

    def run(self) -> Exercise:
        """Run the plan and evaluate it; artifacts are written even when the gates fail."""
        steady = self.plan.spec.steady_state
        before = self._steady("before") if steady else None
        monitors = window_monitors(self.plan, self.baseline)
        self.options.monitors = monitors
        charts.warm_up()  # while the Locust children start
        try:
            self.result = self.runner.run(self.plan, self.options)
        finally:
            charts.warmed()
        after = self._steady("after") if steady else None
        directory = self.options.run_dir
        self.artifacts["timeseries.json"] = charts.write_timeseries(self.result, directory)
        chart = charts.write_charts(self.result, directory)
        if chart is not None:
            self.artifacts["load.png"] = chart
        for name, path in self.result.artifacts.items():
            self.artifacts[name] = Path(path)
        self.evaluation = evaluate(self.result, self.plan, self.baseline, history=self.history,
                                   own_users=self.options.locustfile is not None, monitors=monitors,
                                   user_code=str(self.options.locustfile or ""))
        self.evaluation.findings[:0] = [g for g in (before, after) if g is not None]
        return self

    @property
    def findings(self) -> list[Finding]:
        return self.evaluation.findings

    def check_generator(self) -> None:
        """Raise when the run's figures cannot be trusted (saturated generator, lost or missing worker)."""
        invalid = self.evaluation.invalid
        if not invalid:
            return
        if "run invalid:" not in invalid:  # the generator alone could not keep up
            raise GeneratorSaturatedError(redact(
                f"{invalid}; the {self.plan.scenario} figures describe Locust, not the target "
                "(use --artemis-workers N or fewer users)"))
        raise RunInvalidError(redact(f"{self.plan.scenario} {invalid}; nothing of this run is stored as green"))

    def failure_report(self) -> str:
        failures = self.evaluation.failures + [f for f in self.evaluation.inconclusive
                                               if f.check not in ("load-generator-saturated", "load-run-invalid",
                                                                  "load-dropped-iterations")]
        if not failures:
            return ""
        judged = [f for f in self.evaluation.findings if f.status in ("pass", "fail", "inconclusive")]
        lines = [(f"{self.plan.scenario} ({self.plan.profile} profile, {redact(self.options.target)}): "
                 f"{len(failures)} of {len(judged)} gates broken or inconclusive")]
        lines += [f"  - {f.message}" for f in failures]
        if self.plan.seed is not None:
            lines.append(f"  seed {self.plan.seed}: rerun with --artemis-load-param seed={self.plan.seed}")
        if self.result is not None and self.result.aborted:
            lines.append(f"  run aborted early: {self.result.aborted}")
        lines.append(f"  artifacts: {self.options.run_dir}")
        return redact("\n".join(lines))

    def assert_gates(self) -> None:
        """Raise RunInvalidError when the run cannot be trusted, AssertionError on broken gates, and
        InconclusiveError when a gate could not judge (never a pass)."""
        self.check_generator()
        report = self.failure_report()
        if self.evaluation.failures:
            raise AssertionError(report)
        if report:
            raise InconclusiveError(report)
