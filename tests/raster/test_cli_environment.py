"""``ldcsr`` in a hostile environment: ldcsr's environment variables set to values they cannot
take, and the program reading its output gone (``ldcsr models | head -1``)."""

from __future__ import annotations

import logging

import pytest

from . import forked
from .conftest import sha256


@pytest.mark.parametrize("var, value, says", [
    ("LDCSR_THREADS", "0", "LDCSR_THREADS must be 'auto' or a whole number >= 1, got '0'"),
    ("LDCSR_DTYPE", "abc", "LDCSR_DTYPE='abc': expected one of auto, float32"),
])
def test_a_bad_setting_is_a_usage_error(var, value, says, rasters, tiny_model_file, tmp_path, monkeypatch, capfd,
                                        caplog):
    """Exit 2 (the user's setting), as a bad option value is; it was 6, the status of a damaged
    checkpoint ('--model is not an LDCSR checkpoint'), and 1 for ``info``. (LDCSR_THREADS=abc, a
    value that is no number, raises the same SettingError as 0: the test below.) LDCSR_THREADS is
    read as ldcsr_core is imported too (threads.prepare): its single-file run is a new interpreter's,
    given the value from its start; the rest run in this process (the settings are read at the run),
    the error line alone on the command's stderr, nothing on the process's (capfd) nor logged."""
    import subprocess
    import sys
    from types import SimpleNamespace

    from click.testing import CliRunner

    from ldcsr_core.cli import main

    def run(args, fresh=False):
        if fresh:
            p = subprocess.run([sys.executable, "-m", "ldcsr_core.cli", *[str(a) for a in args]], text=True,
                               capture_output=True, timeout=300)
            r = SimpleNamespace(exit_code=p.returncode, stdout=p.stdout, stderr=p.stderr, output=p.stderr)
        else:
            r = CliRunner().invoke(main, [str(a) for a in args])
        assert not r.stdout and not capfd.readouterr().err, (args, r.output)
        assert not [m.getMessage() for m in caplog.records if m.levelno >= logging.WARNING], args
        return r

    monkeypatch.setenv(var, value)
    src, out = rasters["uint16_nodata"], tmp_path / "out.tif"
    r = run(["-q", "upscale", src, "-o", out, "-s", 2, "--mode", "fast", "--model", tiny_model_file],
            fresh=var == "LDCSR_THREADS")
    assert r.exit_code == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {says}"), r.stderr
    assert not out.exists()
    folder = tmp_path / "batch"
    folder.mkdir()
    for i in range(2):
        (folder / f"x{i}.tif").write_bytes(src.read_bytes())
    r = run(["-q", "upscale", folder, "-o", tmp_path, "-s", 2, "--mode", "fast", "--model", tiny_model_file])
    # a batch: the run's error, not each input's
    assert r.exit_code == 2 and r.stderr.strip().splitlines()[0].startswith(f"Error: {says}"), r.stderr
    assert not list(tmp_path.glob("*_sr.tif"))
    if var == "LDCSR_DTYPE":  # info reports the dtype rule: the same line and status
        r = run(["info", src])
        assert r.exit_code == 2 and f"Error: {says}" in r.stderr, r.stderr


@pytest.mark.parametrize("args", [["models"], ["info", "{src}"]])
def test_stdout_whose_reader_is_gone_ends_quietly(args, rasters, monkeypatch):
    """``ldcsr models | head -1``: the reader has gone, there is nobody to tell. Before, the
    terminal got 'Error: [Errno 32] Broken pipe' (exit 5, as for an unwritable output). A process of
    its own (:mod:`.forked`: its interpreter's exit flushes stdout too), its stdout a pipe whose
    reader is gone before the first line."""
    monkeypatch.setenv("LDCSR_THREADS", "1")
    r = forked.run(["-m", "ldcsr_core.cli", *[a.format(src=rasters["uint16_nodata"]) for a in args]], reader_gone=1)
    assert r.returncode == 1
    assert r.stderr == ""


def test_stderr_whose_reader_is_gone_stops_a_batch_and_leaves_nothing(rasters, tiny_model_file, tmp_path,
                                                                      monkeypatch):
    """The progress stream's reader gone (``ldcsr upscale ... 2>&1 | true``): the run stops as
    one stopped by SIGPIPE would, at the first input (before, each input of the batch was still
    read and run up to its first progress line), with no part file and the inputs intact."""
    folder, outs = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    outs.mkdir()
    srcs = [folder / f"x{i}.tif" for i in range(3)]
    for s in srcs:
        s.write_bytes(rasters["gray"].read_bytes())
    digest = sha256(srcs[0])
    monkeypatch.setenv("LDCSR_THREADS", "1")
    r = forked.run(["-m", "ldcsr_core.cli", "-v", "upscale", folder, "-o", outs, "-s", 2, "--mode", "fast",
                    "--model", tiny_model_file], reader_gone=2)
    assert r.returncode == 1
    assert sorted(p.name for p in outs.iterdir()) == []
    assert sha256(srcs[0]) == digest


@pytest.mark.parametrize("var, value, says", [
    ("LDCSR_THREADS", "0", "LDCSR_THREADS must be 'auto' or a whole number >= 1, got '0'"),
    ("LDCSR_THREADS", "abc", "LDCSR_THREADS must be 'auto' or a whole number >= 1, got 'abc'"),
    ("LDCSR_DTYPE", "abc", "LDCSR_DTYPE='abc': expected one of auto, float32, bfloat16, float16"),
])
def test_a_bad_setting_comes_alone_before_any_output(var, value, says, rasters, tiny_model_file, tmp_path,
                                                     monkeypatch):
    """``ldcsr info`` printed nine lines of its description, then the error; ``adapt`` its progress
    bar's first line (``adapting ×2``); ``train`` ran on all cores, LDCSR_THREADS=0 unread.
    (``adapt`` and ``train`` compute in float32, whatever LDCSR_DTYPE says: they do not read it.)"""
    from click.testing import CliRunner

    from ldcsr_core.cli import main

    monkeypatch.setenv(var, value)
    src = rasters["uint16_nodata"]
    runs = [["info", src]]
    if var == "LDCSR_THREADS":
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "a.tif").write_bytes(src.read_bytes())
        runs += [["adapt", src, "-s", 2, "-o", tmp_path / "a.safetensors", "--model", tiny_model_file],
                 ["train", tmp_path / "data", "--out", tmp_path / "t.safetensors", "--steps", 0, 0, 0]]
    for args in runs:
        r = CliRunner().invoke(main, [str(a) for a in args])
        assert (r.exit_code, r.stdout, r.stderr) == (2, "", f"Error: {says}\n"), (args, r.output)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["data"] if var == "LDCSR_THREADS" else [])


def test_info_says_an_error_alone(rasters, tmp_path):
    """A --bands the file lacks (exit 3) or a --model that is no checkpoint (exit 6; before, 'not
    an adapted model' and exit 0, while upscale refuses it) came after the description's lines."""
    from click.testing import CliRunner

    from ldcsr_core.cli import main

    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    for args, code, says in ((["--bands", "9"], 3, "band 9 does not exist"),
                             (["--model", bad], 6, f"{bad} is not a safetensors file")):
        r = CliRunner().invoke(main, ["info", str(rasters["uint16_nodata"]), *map(str, args)])
        assert (r.exit_code, r.stdout) == (code, ""), r.output
        assert r.stderr.startswith(f"Error: {says}") and r.stderr.count("\n") == 1, r.stderr
