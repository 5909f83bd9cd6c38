"""tests/raster/forked.py's runs are processes as ``subprocess.run``'s would be: their working folder, and each run's own status."""

from __future__ import annotations

import os

from . import forked


def test_a_forked_run_without_cwd_runs_in_the_test_s_working_folder(tmp_path, monkeypatch):
    """``subprocess.run`` without ``cwd`` runs in the caller's working folder at the time of the run.
    Before: a forked run stayed in the fork server's (the folder pytest was started in), so after
    ``monkeypatch.chdir`` a command's relative paths named files there, without a word."""
    assert forked.run(["-c", "pass"]).returncode == 0  # the server started (by an earlier test, say)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    r = forked.run(["-c", "import os, sys; print(os.getcwd()); print(os.path.abspath(sys.argv[1]))", "x.tif"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [os.getcwd(), os.path.join(os.getcwd(), "x.tif")]
    r = forked.run(["-c", "import os; print(os.getcwd())"], cwd="..")  # relative: from the test's folder too
    assert r.stdout.split() == [str(tmp_path)], r.stderr


def test_a_run_left_unwaited_is_ended_and_the_next_run_gets_its_own_status():
    """A test interrupted between start and wait leaves a run: the next run must not read its status."""
    left = forked.start(["-c", "import time; time.sleep(60)"])
    done = forked.run(["-c", "import sys; print('mine'); sys.exit(3)"])
    assert left.returncode == -9
    assert (done.returncode, done.stdout) == (3, "mine\n")


def test_a_forked_run_sees_this_process_s_environment_at_the_run(monkeypatch):
    """As ``subprocess.run``'s: a variable set since the server started (a Dask cluster's OMP_NUM_THREADS,
    a test's monkeypatch.setenv) reaches the run, and one removed since is gone."""
    assert forked.run(["-c", "pass"]).returncode == 0  # the server started before the change
    monkeypatch.setenv("LDCSR_FORKED_PROBE", "seen")
    r = forked.run(["-c", "import os; print(os.environ.get('LDCSR_FORKED_PROBE'))"])
    assert r.stdout == "seen\n", r.stderr
    monkeypatch.delenv("LDCSR_FORKED_PROBE")
    assert forked.run(["-c", "import os; print(os.environ.get('LDCSR_FORKED_PROBE'))"]).stdout == "None\n"
