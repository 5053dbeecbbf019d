"""One field exercise: run a plan, check the steady state (chaos), evaluate the gates, write the artifacts.

:class:`Exercise` is what the fixtures hand to a test. It ties the runner, the evaluation and the
artifacts together without knowing about pytest: the fixture records :attr:`Exercise.evaluation`'s
gates and artifacts and calls :meth:`Exercise.assert_gates`, which fails once listing every broken gate.
A run whose load generator was saturated raises :class:`~pytest_artemis.errors.GeneratorSaturatedError`
instead: its figures describe the generator, not the target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pytest_artemis.baselines import Baseline
from pytest_artemis.errors import GeneratorSaturatedError
from pytest_artemis.load import charts
from pytest_artemis.load.evaluate import Evaluation, evaluate, window_monitors
from pytest_artemis.load.gates import GateResult, History
from pytest_artemis.load.results import RunResult
from pytest_artemis.load.runner import LoadRunner, RunOptions, steady_state
from pytest_artemis.load.scenarios import Plan

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

    def _steady(self, when: str) -> GateResult:
        share, p95, problems = steady_state(self.options.target, self.steady_paths)
        limit = self.baseline.limit_with_tolerance("p95_ms")
        passed = share == 100.0 and p95 is not None and p95 <= limit
        shown = "no answer" if p95 is None else f"p95 {p95:,.1f} ms"
        message = (f"steady state {when}: {share:.0f}% of 20 probes of {', '.join(self.steady_paths)} answered 2xx, "
                   f"{shown} (hypothesis: 100% and p95 <= {limit:,.1f} ms)")
        if problems:
            message += f"; first problem: {problems[0]}"
        return GateResult(f"steady state {when}", share, 100.0, "%", ">=", passed, message,
                          {"p95_ms": p95, "p95_limit_ms": limit})

    def run(self) -> Exercise:
        """Run the plan and evaluate it; artifacts are written even when the gates fail."""
        before = self._steady("before") if self.plan.scenario == "chaos" else None
        monitors = window_monitors(self.plan, self.baseline)
        self.options.monitors = monitors
        self.result = self.runner.run(self.plan, self.options)
        after = self._steady("after") if self.plan.scenario == "chaos" else None
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
        self.evaluation.gates[:0] = [g for g in (before, after) if g is not None]
        return self

    def check_generator(self) -> None:
        if self.evaluation.saturated:
            raise GeneratorSaturatedError(
                f"load generator saturated: {self.evaluation.saturated}; the {self.plan.scenario} figures describe "
                "Locust, not the target (use --artemis-workers N or fewer users)")

    def failure_report(self) -> str:
        failures = self.evaluation.failures
        if not failures:
            return ""
        lines = [(f"{self.plan.scenario} ({self.plan.profile} profile, {self.options.target}): "
                 f"{len(failures)} of {len(self.evaluation.gates)} gates broken")]
        lines += [f"  - {g.message}" for g in failures]
        if self.plan.seed is not None:
            lines.append(f"  seed {self.plan.seed}: rerun with --artemis-load-param seed={self.plan.seed}")
        if self.result is not None and self.result.aborted:
            lines.append(f"  run aborted early: {self.result.aborted}")
        lines.append(f"  artifacts: {self.options.run_dir}")
        return "\n".join(lines)

    def assert_gates(self) -> None:
        """Raise GeneratorSaturatedError when the generator could not keep up, AssertionError on broken gates."""
        self.check_generator()
        report = self.failure_report()
        if report:
            raise AssertionError(report)
