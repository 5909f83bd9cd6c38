"""A path typed as a folder's name (``out/sub/``, ``out/sub/.``) is never written as a file: one rule
(``cli.options.names_a_folder``) for upscale's ``-o``, the reports' ``--json`` and every other file
the CLI writes, checked before any work."""

from __future__ import annotations

import types

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from ldcsr_core.cli import main, options

FAST = ("-s", "2", "--mode", "fast", "--device", "cpu")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    a = np.random.default_rng(0).integers(0, 255, (3, 32, 32)).astype("uint8")
    with rasterio.open("s.tif", "w", driver="GTiff", width=32, height=32, count=3, dtype="uint8") as d:
        d.write(a)
    (tmp_path / "m.ckpt").write_bytes(b"not read: the name is refused first")
    return tmp_path


def test_a_report_name_ending_in_a_separator_is_refused_not_written_as_a_file(work):
    """Before: `selfcheck --json out/sub/` (no folder sub) dropped the '/' and wrote a file `out/sub`, exit 0.
    (Moved here from test_cli_info_predicts.py.)"""
    for raw in ("out/sub/", "out/"):
        r = run("-q", "selfcheck", "s.tif", "-s", "2", "--mode", "fast", "--json", raw)
        assert r.exit_code == 2 and f"{raw} names a folder, not a file" in r.stderr, r.output
    assert list((work / "out").iterdir()) == []
    r = run("-q", "selfcheck", "s.tif", "-s", "2", "--mode", "fast", "--json", "out/q.json")
    assert r.exit_code == 0 and (work / "out" / "q.json").is_file(), r.output


def test_a_name_ending_in_a_dot_part_is_a_folder_for_upscale_and_the_reports(work, tiny_model_file):
    """Before: pathlib dropped the trailing '.': `upscale -o out/o.tif/.` wrote a GeoTIFF out/o.tif,
    `selfcheck --json out/q.json/.` a report out/q.json and `--json out/sub/.` a file out/sub (exit 0)."""
    model = ("--model", tiny_model_file)
    for raw in ("out/q.json/.", "out/sub/.", "out/sub/..", "out/."):
        r = run("-q", "selfcheck", "s.tif", *FAST, *model, "--json", raw)
        assert r.exit_code == 2 and f"{raw} names a folder, not a file: give the report a file name" in r.stderr, r.output
    r = run("-q", "evaluate", "out", "--json", "out/e.json/.")
    assert r.exit_code == 2 and "out/e.json/. names a folder, not a file" in r.stderr, r.output
    r = run("-q", "upscale", "s.tif", "-o", "out/o.tif/.", *FAST, *model)
    assert r.exit_code == 2 and "output folder does not exist: out/o.tif/." in r.stderr, r.output
    r = run("-q", "upscale", "s.tif", "-o", "out/o.tif", "--samples", "2", "--spread-out", "out/sp.tif/.", *FAST, *model)
    assert r.exit_code == 2 and "out/sp.tif/. names a folder, not a file: give the spread file a file name" in r.stderr, r.output
    assert list((work / "out").iterdir()) == []
    r = run("-q", "upscale", "s.tif", "-o", "out/.", *FAST, *model)  # a folder that is there: its outputs go in it
    assert r.exit_code == 0 and [p.name for p in (work / "out").iterdir()] == ["s_sr.tif"], r.output


@pytest.mark.parametrize("args, what", [
    (("adapt", "s.tif", "-s", "2", "-o", "out/a.safetensors/."), "the adapted model"),
    (("convert", "m.ckpt", "out/c.safetensors/"), "the converted model"),
    (("train", "out", "--out", "out/t.safetensors/."), "the model"),
    (("train", "out", "--out", "out/t.safetensors", "--checkpoint", "out/t.ckpt/"), "the checkpoint"),
    (("train", "out", "--out", "out/t.safetensors", "--log", "out/log.jsonl/."), "the log"),
])
def test_every_file_the_cli_writes_is_refused_a_folder_name(work, args, what):
    """Before: each dropped the '/' or '/.' and went on to write the file (convert: out/c.safetensors)."""
    r = run(*args)
    raw = next(a for a in args if a.endswith(("/", "/.")))
    assert r.exit_code == 2 and f"{raw} names a folder, not a file: give {what} a file name" in r.stderr, r.output
    assert list((work / "out").iterdir()) == []


def test_names_a_folder_by_its_form_with_windows_separators(monkeypatch):
    """On Windows a backslash separates too (os.sep '\\', os.altsep '/')."""
    assert options.names_a_folder("out/sub/.") and not options.names_a_folder("out/sub.tif")
    assert not options.names_a_folder("out\\sub\\.")  # a file name on POSIX
    monkeypatch.setattr(options, "os", types.SimpleNamespace(sep="\\", altsep="/"))
    for raw in ("out\\sub\\", "out\\sub\\.", "out\\sub/..", ".", "C:\\"):
        assert options.names_a_folder(raw), raw
    for raw in ("out\\sub.json", "out\\.hidden", "out/..json", ""):
        assert not options.names_a_folder(raw), raw
