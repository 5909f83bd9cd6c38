"""``ldcsr info`` says what ``upscale`` would do with a file: where upscale refuses to read it,
info refuses too (the same exit status and words), without reading its pixels."""

from __future__ import annotations

from click.testing import CliRunner

from ldcsr_core.cli import main

from .test_cli_faults import vrt


def test_info_refuses_a_vrt_whose_source_is_missing_as_upscale_does(tmp_path, monkeypatch):
    """Before: info described the VRT (exit 0, an output of 128 x 128 px) that upscale refuses, exit 5."""
    monkeypatch.chdir(tmp_path)
    vrt(tmp_path / "scene.vrt", "gone.tif", 64)
    r = CliRunner().invoke(main, ["info", "scene.vrt"])
    assert r.exit_code == 5, r.output
    assert r.stdout == ""
    assert r.stderr.strip() == "Error: cannot read scene.vrt: gone.tif: No such file or directory"
    up = CliRunner().invoke(main, ["-q", "upscale", "scene.vrt", "-o", "o.tif", "-s", "2", "--mode", "fast"])
    assert up.exit_code == 5 and up.stderr.strip() == r.stderr.strip(), up.output
    (tmp_path / "gone.tif").symlink_to("elsewhere.tif")  # a source that is a broken link: as missing
    assert CliRunner().invoke(main, ["info", "scene.vrt"]).exit_code == 5
