"""``ldcsr upscale``'s progress bars where stderr goes: a log file or a pipe, a terminal of no size."""

from __future__ import annotations

import numpy as np

from .conftest import smooth_field, write_tif


def _scene(folder, side=192):
    return write_tif(folder / "s.tif", smooth_field(np.random.default_rng(5), side, side, 3, 0, 255).round(),
                     dtype="uint8")


def test_a_bar_to_a_log_is_redrawn_every_30_s_not_at_every_tile(tmp_path, tiny_model_file):
    """stderr to a file or a pipe (`2> run.log`, `| tee`) keeps every redraw: before, tqdm's ten a second, a
    log line of megabytes over a long scene (here over ten redraws for a run of 1-2 s: 25 tiles); now the
    bar's start and its end, and a redraw every 30 s between."""
    from click.testing import CliRunner

    from ldcsr_core.cli import main

    src = _scene(tmp_path, 128)
    r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(tmp_path / "o.tif"), "-s", "2", "--mode", "fast",
                                  "--tile", "32", "--model", str(tiny_model_file)])
    assert r.exit_code == 0, r.output
    drawn = [s for s in r.output.split("\r") if s.startswith("s.tif:")]
    assert len(drawn) <= 3, drawn  # 0 %, and 100 % as it ends (a redraw at 30 s on a slow machine)
    assert drawn[0].startswith("s.tif:   0%") and drawn[-1].startswith("s.tif: 100%"), drawn


def test_a_terminal_of_no_size_gets_a_bar(tmp_path, tiny_model_file):
    """A pseudo-terminal whose size nobody set (0 x 0: `script` under a pipe, some CI runners): before, tqdm
    drew no bar at all, the run silent until its summary; now an 80-column bar."""
    import os
    import pty
    import select
    import subprocess
    import sys

    src = _scene(tmp_path, 64)
    master, slave = pty.openpty()  # 0 x 0 until someone sets it
    try:
        assert os.get_terminal_size(slave) == (0, 0)
        p = subprocess.Popen([sys.executable, "-m", "ldcsr_core.cli", "upscale", str(src), "-o", str(tmp_path / "o.tif"),
                              "-s", "2", "--mode", "fast", "--model", str(tiny_model_file)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
        os.close(slave)
        said = b""
        while True:
            if select.select([master], [], [], 120)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed its end
                    break
                if not chunk:
                    break
                said += chunk
            elif p.poll() is not None:
                break
        assert p.wait(timeout=120) == 0, said
    finally:
        os.close(master)
    text = said.decode()
    assert "s.tif: 100%|" in text and "1 input: 1 written" in text, text


def test_a_bar_to_a_log_is_not_redrawn_by_tqdms_monitor_between_its_30_s(monkeypatch):
    """tqdm's monitor thread redraws a bar not drawn for its maxinterval (10 s): before, a bar to a log at a
    tile a second was redrawn at 30 s, 40 s, 60 s, 70 s, ... (docs: every 30 s); now at 30, 60, 90 s (the monitor
    redraws only after a tile slower than 60 s). A
    clock of tqdm's own test hooks, the monitor looking every 10 ms instead of 10 s."""
    import io
    import sys
    import time
    from types import SimpleNamespace

    from tqdm import _monitor, std
    from tqdm.auto import tqdm  # the class Bar draws with (its monitor is its own once one of it ran)

    from ldcsr_core.cli.batch_report import Bar

    now = [1000.0]
    clock = lambda: now[0]  # noqa: E731
    if tqdm.monitor is not None:
        tqdm.monitor.exit()
    monkeypatch.setattr(tqdm, "monitor", None)
    monkeypatch.setattr(tqdm, "monitor_interval", 0.01)
    monkeypatch.setattr(std, "time", clock)
    monkeypatch.setitem(_monitor.TMonitor._test, "time", clock)
    drawn = []

    class Log(io.StringIO):
        def write(self, s):
            if s.strip("\r\n "):
                drawn.append(now[0])
            return super().write(s)

    monkeypatch.setattr(sys, "stderr", Log())
    bar = Bar("s.tif", quiet=False)
    try:
        for done in range(1, 96):  # a tile a second
            now[0] += 1
            bar(SimpleNamespace(total=100, done=done))
            time.sleep(0.02)  # the monitor looks
    finally:
        bar.close()
        if tqdm.monitor is not None:
            tqdm.monitor.exit()
    gaps = [b - a for a, b in zip(drawn, drawn[1:-1])]  # the last: the bar's close
    assert gaps and min(gaps) >= 30, (drawn, sys.stderr.getvalue()[:3000])


def test_a_setting_given_to_tqdm_in_the_environment_is_kept(monkeypatch):
    """TQDM_MININTERVAL, TQDM_MAXINTERVAL (tqdm's own way to set its bars, read as tqdm is imported): before,
    the 30 s for a log replaced them; now a bar to a log is drawn as tqdm's own would be."""
    import io
    import sys
    from types import SimpleNamespace

    from tqdm.auto import tqdm

    from ldcsr_core.cli.batch_report import LOG_INTERVAL, Bar

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    monkeypatch.setenv("TQDM_MININTERVAL", "0")
    monkeypatch.setenv("TQDM_MAXINTERVAL", "1")
    bar = Bar("s.tif", quiet=False)
    bar(SimpleNamespace(total=4, done=1))
    own = tqdm(total=4, file=io.StringIO())  # with what tqdm read from the environment
    try:
        assert (bar.bar.mininterval, bar.bar.maxinterval) == (own.mininterval, own.maxinterval) != (
            LOG_INTERVAL, 2 * LOG_INTERVAL)
    finally:
        bar.close()
        own.close()
