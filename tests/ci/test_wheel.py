"""The distributions: `python -m build` makes the sdist and the wheel from a copy of the repository, both pass
`twine check --strict`, and the wheel installed into a fresh venv gates a copy of the kit's manifests from a
directory outside the repository (GO), as `pip install pytest-artemis` would for a project of its own.

Cost: about 5 s to build and 5-10 s to install with uv's cache warm (ci/setup.sh filled it with the same
locked versions); on a machine whose cache is cold, the install downloads the wheels of uv.lock's versions
(about 150 MB) from the package index. Marked `packaging` (deselect with -m 'not packaging')."""

from __future__ import annotations

import json
import shutil
import tomllib
import zipfile
from pathlib import Path

import pytest
from ci_support import BIN, COPY_IGNORE, ROOT, clean_env, run, tool

pytestmark = pytest.mark.packaging


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist and wheel built from a copy of the repository (nothing is written into the checkout)."""
    tmp = tmp_path_factory.mktemp("dist")
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=COPY_IGNORE)
    # The build backend at the versions pyproject.toml pins for uv (as ./ci/stage.sh wheel does).
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["uv"][
        "build-constraint-dependencies"]
    (tmp / "build-constraints.txt").write_text("\n".join(pins) + "\n", encoding="utf-8")
    env = clean_env(UV_CONSTRAINT=str(tmp / "build-constraints.txt"), PIP_CONSTRAINT=str(tmp / "build-constraints.txt"))
    done = run([str(BIN / "python"), "-m", "build", "--installer", "uv", "--outdir", str(tmp / "out"), str(source)],
               env=env, cwd=tmp, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return tmp / "out"


def test_the_sdist_and_the_wheel_build_and_pass_twine_check(dist: Path) -> None:
    (wheel,) = dist.glob("pytest_artemis-*-py3-none-any.whl")
    (sdist,) = dist.glob("pytest_artemis-*.tar.gz")
    done = run([tool("twine"), "check", "--strict", str(wheel), str(sdist)], env=clean_env(), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert {"pytest_artemis/py.typed", "pytest_artemis/data/baselines.yaml",
            "pytest_artemis/data/baselines.schema.json"} <= names
    assert "[pytest11]\nartemis = pytest_artemis.plugin" in entry_points


def test_the_wheel_in_a_fresh_venv_gates_the_kits_manifests_from_outside_the_repository(
        dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("pytest_artemis-*-py3-none-any.whl")
    venv = tmp_path / "venv"
    uv = tool("uv")
    made = run([uv, "venv", "--quiet", "--python", str(Path(BIN / "python").resolve()), str(venv)],
               env=clean_env(), cwd=tmp_path, timeout=120)
    assert made.returncode == 0, made.stderr
    # Dependencies from the package index, at the versions uv.lock pins (so the test does not move with them).
    constraints = tmp_path / "locked.txt"
    exported = run([uv, "export", "--project", str(ROOT), "--frozen", "--no-hashes", "--no-emit-project",
                    "--no-default-groups", "--format", "requirements.txt", "--quiet", "--output-file",
                    str(constraints)], env=clean_env(), cwd=tmp_path, timeout=120)
    assert exported.returncode == 0, exported.stderr
    installed = run([uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "-c",
                     str(constraints), str(wheel)], env=clean_env(), cwd=tmp_path, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]

    work = tmp_path / "elsewhere"
    shutil.copytree(ROOT / "manifests", work / "kit")
    env = clean_env(HOME=str(work))  # no PATH entry of the venv: the plugin finds its kubectl itself
    where = run([str(venv / "bin" / "python"), "-c", "import pytest_artemis; print(pytest_artemis.__file__)"],
                env=env, cwd=work, timeout=60)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout + where.stderr
    done = run([str(venv / "bin" / "pytest"), "--artemis-manifests=kit", "--artemis-verdict=verdict.json",
                "-p", "no:cacheprovider"], env=env, cwd=work, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "MISSION VERDICT: GO" in done.stdout
    verdict = json.loads((work / "verdict.json").read_text(encoding="utf-8"))
    assert verdict["verdict"] == "GO" and verdict["status"] == "complete"
    manifests = verdict["gates"]["manifests"]
    assert manifests["passed"] >= 20 and manifests["failed"] == manifests["error"] == 0
    assert set(verdict["gates"]) == {"manifests"}
    assert all(t["nodeid"].startswith("kit/") for t in verdict["tests"])
