"""The README's first command works on a fresh machine exactly as written.

A clean copy of the repository (its tracked files only, as a clone has them) gets a new virtual
environment outside the home folder; the README's command 1 is read from the README itself and
run there with that environment's `pip` and `checker` first on PATH. Slow: it installs torch and
every core dependency (from the pip cache or the machine's local wheels when they are there).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    """The numbered set-up commands of README.md's "Set up and run" block, in order."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Set up and run.*?```bash\n(.*?)```", text, re.S)
    assert block, "README.md has no bash block under 'Set up and run'"
    lines = [ln.strip() for ln in block.group(1).splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("#")]


def test_the_readme_holds_exactly_two_set_up_commands_and_ci_runs_the_second():
    commands = readme_commands()
    assert len(commands) == 2
    assert "checker scan --example" in commands[0]
    assert "pytest" in commands[1]
    assert commands[1] in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def _tracked_copy(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True)
    for rel in files.stdout.decode().split("\0"):
        if not rel or not (REPO / rel).is_file():
            continue  # deleted in the working tree but not yet committed
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, target)


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_readme_command_one_installs_and_scans_the_example_in_a_fresh_venv():
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs the git checkout to copy its tracked files")
    # Outside the home folder on purpose: nothing may assume where Python or the venv lives.
    work = Path(tempfile.mkdtemp(prefix="noshortcut-first-run-", dir="/tmp"))
    try:
        repo = work / "repo"
        _tracked_copy(repo)
        env_dir = work / "venv"
        venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
        env = {k: v for k, v in os.environ.items()
               if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "NOSHORTCUT_INDEX")}
        env["VIRTUAL_ENV"] = str(env_dir)
        env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        command = readme_commands()[0]
        done = subprocess.run(["bash", "-c", command], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=1400)
        tail = (done.stdout[-3000:] + "\n" + done.stderr[-3000:])
        assert done.returncode in (0, 1), f"command 1 failed ({done.returncode}):\n{tail}"
        assert "Traceback" not in done.stderr, tail
        report = json.loads((repo / "report" / "report.json").read_text(encoding="utf-8"))
        assert report["verdicts"], "the example round's report has no verdicts"
        assert (repo / "report" / "index.html").is_file()
        # the notes check ran with the default model, installed by the core dependencies
        assert report.get("notes") is not None, tail
        # and the checker that ran is the venv's, not this interpreter's
        which = subprocess.run(["bash", "-c", "command -v checker"], env=env,
                               capture_output=True, text=True)
        assert which.stdout.strip().startswith(str(env_dir)), which.stdout
        assert sys.prefix != str(env_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
