"""ci/setup.sh on a copy of the repository: the first run creates .venv from uv.lock and says what it installs,
the second changes nothing and says that everything is in place, and the system interpreter's installed
packages are the same before and after (the project is never installed into it).

Cost: about 10-20 s (a venv, uv from the package index, uv.lock's packages from uv's cache). Marked
`packaging` (deselect with -m 'not packaging')."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from ci_support import COPY_IGNORE, ROOT, clean_env, run

pytestmark = pytest.mark.packaging

# The interpreter .venv was made from: the one `python3` is on a fresh machine, which setup must leave alone.
SYSTEM_PYTHON = str(Path(sys.base_prefix) / "bin" / "python3")
SNAPSHOT = ("import importlib.metadata as m, json, os, sysconfig; "
            "site = sysconfig.get_paths()['purelib']; "
            "print(json.dumps({'dists': sorted(f\"{d.metadata['Name']}=={d.version}\" for d in m.distributions()), "
            "'site': sorted(os.listdir(site)) if os.path.isdir(site) else []}))")


def system_packages() -> dict[str, list[str]]:
    done = run([SYSTEM_PYTHON, "-I", "-c", SNAPSHOT], env=clean_env(), timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_setup_creates_venv_from_the_lock_then_changes_nothing_and_leaves_the_system_python_alone(
        tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, ignore=COPY_IGNORE)
    before = system_packages()
    env = clean_env(PYTHON=SYSTEM_PYTHON)

    first = run(["bash", str(copy / "ci" / "setup.sh")], env=env, cwd=tmp_path, timeout=600)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    lines = [line for line in first.stdout.splitlines() if line.startswith("[setup] ")]
    said = "\n".join(lines)
    for what in ("creating .venv", "installing uv", "installing the locked dependencies (uv.lock)"):
        assert what in said, said
    assert lines[-1].startswith("[setup] done in ")

    second = run(["bash", str(copy / "ci" / "setup.sh")], env=env, cwd=tmp_path, timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.count("\n") == 1 and "everything is in place" in second.stdout, second.stdout
    assert not second.stderr.strip(), second.stderr

    where = run([str(copy / ".venv" / "bin" / "python"), "-c", "import pytest_artemis; print(pytest_artemis.__file__)"],
                env=clean_env(), cwd=tmp_path, timeout=60)
    assert Path(where.stdout.strip()).is_relative_to(copy), where.stdout + where.stderr
    assert system_packages() == before
