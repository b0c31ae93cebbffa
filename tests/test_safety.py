"""Output safety: dcplan never loses a user's files, and a killed or concurrent run never
leaves anything but the old or the new whole result at the output path.

The crash tests run real processes that SIGKILL themselves at each step of a folder
replacement (``DCPLAN_FAULT_STEP``, see dcplan.atomic.STEPS), with and without the atomic
exchange; the lock and interrupt tests run real concurrent ``dcplan`` processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from conftest import TINY_STUDY
from typer.testing import CliRunner

from dcplan import atomic
from dcplan.atomic import MANIFEST, atomic_dir, check_output_dir, check_output_file, output_lock
from dcplan.cli import app
from dcplan.errors import OutputError

PROJECT = Path(__file__).resolve().parents[1]
runner = CliRunner()

STUDY = dict(TINY_STUDY, name="safety tiny")


def _env(**extra) -> dict:
    env = dict(os.environ, PYTHONPATH=str(PROJECT), MPLBACKEND="Agg")
    env.pop("DCPLAN_FAULT_STEP", None)
    env.pop("DCPLAN_NO_EXCHANGE", None)
    env.update(extra)
    return env


def _cli(*args, timeout=240, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dcplan.cli", *map(str, args)], env=_env(**env),
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture()
def study_file(tmp_path):
    path = tmp_path / "study" / "tiny.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(STUDY))
    return path


@pytest.fixture()
def no_solve(monkeypatch):
    """Fail the test if anything reaches the solver (refusals must come first)."""
    import dcplan.run

    def boom(*args, **kwargs):
        raise AssertionError("the output path must be checked before solving")

    monkeypatch.setattr(dcplan.run, "_solve", boom)


def _user_folder(path: Path) -> dict[str, str]:
    path.mkdir(parents=True, exist_ok=True)
    files = {"notes.txt": "my notes", "data/keep.csv": "a,b\n1,2\n"}
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    return files


def _unchanged(path: Path, files: dict[str, str]) -> bool:
    return all((path / name).read_text() == text for name, text in files.items())


# ------------------------------------------------------------------ refusals (before solving)
def test_existing_user_folder_is_refused_before_solving(study_file, tmp_path, no_solve):
    out = tmp_path / "results"
    files = _user_folder(out)
    result = runner.invoke(app, ["run", str(study_file), "--out", str(out)])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "not written by dcplan" in text and "--overwrite" in text and MANIFEST in text
    assert _unchanged(out, files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results", "study"]


def test_the_study_folder_is_never_replaced_even_with_overwrite(study_file, no_solve):
    for extra in ([], ["--overwrite"]):
        result = runner.invoke(app, ["run", str(study_file), "--out", str(study_file.parent),
                                     *extra])
        assert result.exit_code == 1
        assert "an input of this study" in " ".join(result.output.split())
        assert study_file.read_text() == yaml.safe_dump(STUDY)


def test_a_site_file_of_the_study_is_protected_too(tmp_path, no_solve):
    data = tmp_path / "data"
    data.mkdir()
    (data / "sites.csv").write_text("site_id,lat,lon\na,39.0,-77.5\n")
    study = dict(STUDY, sites={"file": "data/sites.csv"})
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(study))
    result = runner.invoke(app, ["run", str(path), "--out", str(data), "--overwrite"])
    assert result.exit_code == 1 and (data / "sites.csv").is_file()


@pytest.mark.parametrize("kind", ["file", "symlink_to_dir", "symlink_to_file", "fifo", "dangling"])
def test_a_path_that_is_not_a_folder_is_never_touched(study_file, tmp_path, kind, no_solve):
    target = tmp_path / "out"
    real_dir = tmp_path / "real_dir"
    real_dir.mkdir()
    (real_dir / "x.txt").write_text("x")
    real_file = tmp_path / "real.txt"
    real_file.write_text("precious")
    if kind == "file":
        target.write_text("precious")
    elif kind == "symlink_to_dir":
        target.symlink_to(real_dir)
    elif kind == "symlink_to_file":
        target.symlink_to(real_file)
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to(tmp_path / "nowhere")
    before = os.lstat(target)
    for extra in ([], ["--overwrite"]):
        result = runner.invoke(app, ["run", str(study_file), "--out", str(target), *extra])
        assert result.exit_code == 1, result.output
        assert "not a folder" in result.output
    after = os.lstat(target)
    assert (before.st_ino, before.st_mode, before.st_mtime_ns) == (after.st_ino, after.st_mode,
                                                                   after.st_mtime_ns)
    assert real_file.read_text() == "precious" and (real_dir / "x.txt").read_text() == "x"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_devices_are_refused_by_the_check():
    for device in ("/dev/null", "/dev/zero"):
        if os.path.exists(device):
            with pytest.raises(OutputError, match="device"):
                check_output_dir(device, overwrite=True)
            with pytest.raises(OutputError, match="device"):
                check_output_file(device, overwrite=True)


@pytest.mark.parametrize("out", [".", "..", "./", "../.."])
def test_current_folder_and_parents_are_refused(study_file, tmp_path, monkeypatch, out, no_solve):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    (work / "mine.txt").write_text("mine")
    monkeypatch.chdir(work)
    result = runner.invoke(app, ["run", str(study_file), "--out", out, "--overwrite"])
    assert result.exit_code == 1
    assert (work / "mine.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "study"]


def test_overwrite_replaces_a_user_folder_when_asked(study_file, tmp_path):
    out = tmp_path / "results"
    _user_folder(out)
    result = runner.invoke(app, ["run", str(study_file), "--out", str(out), "--overwrite", "-q",
                                 "--no-report"])
    assert result.exit_code == 0, result.output
    assert atomic.read_manifest(out)["kind"] == "run"
    assert not (out / "notes.txt").exists() and (out / "plan.nc").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results", "study"]


def test_rerun_replaces_its_own_folder_and_leaves_user_neighbours(study_file, tmp_path):
    out = tmp_path / "run"
    old_name = _user_folder(tmp_path / ".run.old")  # a user folder with the old scheme's name
    lookalike = tmp_path / ".run.abcdefgh.dcplan-partial"  # right name, not ours: no marker
    lookalike_files = _user_folder(lookalike)
    stale = tmp_path / ".run.zyxwvuts.dcplan-partial"  # a killed run's staging folder
    stale.mkdir()
    (stale / atomic.PARTIAL_MARK).touch()
    (stale / "plan.nc").write_text("half")
    empty_stale = tmp_path / ".run.qqqqqqqq.dcplan-old"
    empty_stale.mkdir()
    for _ in range(2):
        result = runner.invoke(app, ["run", str(study_file), "--out", str(out), "-q",
                                     "--no-report"])
        assert result.exit_code == 0, result.output
    assert _unchanged(tmp_path / ".run.old", old_name) and _unchanged(lookalike, lookalike_files)
    assert not stale.exists() and not empty_stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".run.old", lookalike.name, "run", "study"])


def test_report_refuses_user_files_in_report_folder(study_file, tmp_path):
    out = tmp_path / "run"
    assert runner.invoke(app, ["run", str(study_file), "--out", str(out), "-q", "--no-report"]
                         ).exit_code == 0
    files = _user_folder(out / "report")
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 1 and "--overwrite" in " ".join(result.output.split())
    assert _unchanged(out / "report", files)
    result = runner.invoke(app, ["report", str(out), "--overwrite"])
    assert result.exit_code == 0, result.output
    assert (out / "report" / "index.html").is_file() and not (out / "report" / "notes.txt").exists()
    assert atomic.read_manifest(out / "report")["kind"] == "report"
    # its own report is replaced without --overwrite
    assert runner.invoke(app, ["report", str(out)]).exit_code == 0
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize("command", ["inputs", "schema"])
def test_file_outputs_follow_the_same_rules(command, study_file, tmp_path):
    args = [command, str(study_file), "-q"] if command == "inputs" else [command]
    folder = tmp_path / "folder"
    files = _user_folder(folder)
    user_file = tmp_path / "user.nc"
    user_file.write_text("not ours")
    own = tmp_path / "own.out"
    for target, code in ((folder, 1), (user_file, 1), (study_file, 1), (own, 0), (own, 0)):
        result = runner.invoke(app, [*args, "--out", str(target)])
        assert result.exit_code == code, (target, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "is a folder" not in result.output
    assert _unchanged(folder, files) and user_file.read_text() == "not ours"
    assert study_file.read_text() == yaml.safe_dump(STUDY)
    if command == "inputs":  # the study's own file is protected even with --overwrite
        result = runner.invoke(app, [*args, "--out", str(study_file), "--overwrite"])
        assert result.exit_code == 1 and study_file.read_text() == yaml.safe_dump(STUDY)
    result = runner.invoke(app, [*args, "--out", str(user_file), "--overwrite"])
    assert result.exit_code == 0 and user_file.read_bytes() != b"not ours"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_sweep_refuses_a_user_folder_before_solving(study_file, tmp_path, no_solve):
    out = tmp_path / "sweep"
    files = _user_folder(out)
    result = runner.invoke(app, ["sweep", str(study_file), "--vary", "limits.block_mw=10,20",
                                 "--out", str(out), "--workers", "1"])
    assert result.exit_code == 1 and _unchanged(out, files)


# ------------------------------------------------------------------ crash safety (real kills)
WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from dcplan.atomic import atomic_dir
    out, version = Path(sys.argv[1]), sys.argv[2]
    with atomic_dir(out, kind="test") as tmp:
        for name in ("a.txt", "b.txt", "sub/c.txt"):
            (tmp / name).parent.mkdir(exist_ok=True)
            (tmp / name).write_text(version * 1000)
""")


def _write(out: Path, version: str, **env) -> int:
    return subprocess.run([sys.executable, "-c", WRITER, str(out), version], env=_env(**env),
                          capture_output=True, timeout=60).returncode


def _whole_version(out: Path) -> str:
    """The version a folder holds, asserting it is whole (every file, one version, manifest)."""
    manifest = atomic.read_manifest(out)
    assert manifest is not None and manifest["files"] == ["a.txt", "b.txt", "sub/c.txt"]
    texts = {(out / name).read_text() for name in manifest["files"]}
    assert len(texts) == 1
    (text,) = texts
    assert text == text[0] * 1000
    return text[0]


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
def test_a_kill_at_any_step_leaves_the_old_or_the_new_result(tmp_path, exchange):
    extra = {} if exchange else {"DCPLAN_NO_EXCHANGE": "1"}
    seen = {}
    for step in atomic.STEPS:
        root = tmp_path / f"step{step}"
        out = root / "out"
        assert _write(out, "1", **extra) == 0
        code = _write(out, "2", DCPLAN_FAULT_STEP=str(step), **extra)
        assert code == -signal.SIGKILL, f"step {step} did not kill the writer"
        if out.exists():
            seen[step] = _whole_version(out)
        else:
            # two renames, killed between them: the next run puts the whole folder back
            assert not exchange and step == 6
            seen[step] = "restored"
        assert _write(out, "3", **extra) == 0
        assert _whole_version(out) == "3"
        assert sorted(p.name for p in root.iterdir()) == ["out"], f"leftovers after step {step}"
    if exchange:
        assert set(seen.values()) <= {"1", "2"}
        assert seen[5] == "1" and seen[6] == "2"
    assert len(seen) == len(atomic.STEPS)


def test_a_restored_folder_after_a_kill_between_renames_is_whole(tmp_path):
    out = tmp_path / "out"
    assert _write(out, "1", DCPLAN_NO_EXCHANGE="1") == 0
    assert _write(out, "2", DCPLAN_FAULT_STEP="6", DCPLAN_NO_EXCHANGE="1") == -signal.SIGKILL
    assert not out.exists()
    with atomic_dir(out, kind="test") as tmp:  # the next writer restores first (new result wins)
        assert _whole_version(out) == "2"
        (tmp / "a.txt").write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_real_run_killed_at_the_swap_keeps_the_previous_plan(study_file, tmp_path):
    out = tmp_path / "run"
    first = _cli("run", study_file, "--out", out, "-q", "--no-report")
    assert first.returncode == 0, first.stderr
    before = (out / "summary.json").read_text()
    for step in (3, 5):
        killed = _cli("run", study_file, "--out", out, "-q", "--no-report",
                      DCPLAN_FAULT_STEP=str(step))
        assert killed.returncode == -signal.SIGKILL
        assert (out / "summary.json").read_text() == before and (out / "plan.nc").is_file()
    again = _cli("run", study_file, "--out", out, "-q", "--no-report")
    assert again.returncode == 0, again.stderr
    assert json.loads((out / "summary.json").read_text())["status"] == "optimal"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "study"]


# ------------------------------------------------------------------ lock and concurrency
HOLDER = textwrap.dedent("""
    import sys, time
    from dcplan.atomic import output_lock
    with output_lock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def test_a_locked_output_is_refused_with_the_holder_named(study_file, tmp_path):
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out), "60"], env=_env(),
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = _cli("run", study_file, "--out", out, "-q")
        assert result.returncode == 1
        assert f"pid {holder.pid}" in result.stderr and "Traceback" not in result.stderr
        assert not out.exists()
        with pytest.raises(OutputError, match="another dcplan process"):
            with output_lock(out):
                pass
    finally:
        holder.kill()
        holder.wait()
    # the kernel dropped the killed holder's lock: no stale lock blocks the next run
    result = _cli("run", study_file, "--out", out, "-q", "--no-report")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "study"]


def test_concurrent_runs_into_one_folder(study_file, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "dcplan.cli", "run", str(study_file), "--out", str(out), "-q",
           "--no-report"]
    procs = [subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(3)]
    results = [(p.wait(timeout=240), p.stderr.read()) for p in procs]
    for code, err in results:
        assert "Traceback" not in err
        assert code == 0 or (code == 1 and "another dcplan process" in err), err
    assert any(code == 0 for code, _ in results)
    assert json.loads((out / "summary.json").read_text())["status"] == "optimal"
    assert atomic.read_manifest(out)["kind"] == "run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "study"]


# ------------------------------------------------------------------ Ctrl-C
SLOW = {
    "name": "slow",
    "horizon": {"first_year": 2026, "last_year": 2033},
    "fleet": {"gpus": [{"year": 2028, "chip": "gb200_nvl72", "gpus": 200000},
                       {"year": 2031, "chip": "gb300_nvl72", "gpus": 600000},
                       {"year": 2033, "chip": "h100_sxm", "gpus": 200000}]},
    "sites": {"catalog": {"limit": 120}},
    "limits": {"block_mw": 10},
    "solver": {"time_limit_s": "120 s", "mip_rel_gap": 1e-6},
}


def test_ctrl_c_during_the_solve_stops_at_once_and_writes_nothing(tmp_path):
    study = tmp_path / "slow.yaml"
    study.write_text(yaml.safe_dump(SLOW))
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "dcplan.cli", "-v", "run", str(study), "--out",
                             str(out), "-q"], env=_env(), stderr=subprocess.PIPE, text=True)
    lines = []
    deadline = time.monotonic() + 200
    for line in proc.stderr:
        lines.append(line)
        if "built SitingModel" in line or time.monotonic() > deadline:
            break
    time.sleep(3.0)  # well inside HiGHS
    assert proc.poll() is None, "".join(lines)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=30)
    waited = time.monotonic() - sent
    rest = proc.stderr.read()
    assert code == 130, rest
    assert waited < 5.0
    assert "interrupted" in rest and "Traceback" not in rest
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slow.yaml"]
