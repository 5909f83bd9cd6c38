"""The file size limit (``ulimit -f``) is each file's: a run with a spread file (``--samples K``)
compares it with each file's size, not with the output's and the spread file's together."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import write_tif
from .test_cli_faults import _ldcsr, _leftovers


def test_an_output_and_spread_file_each_within_the_size_limit_are_written(tmp_path, monkeypatch):
    """64 × 64 px at ×4 with 2 samples: the output needs 192 KiB uncompressed, its spread file 768 KiB
    (at least 192 KiB at 4:1), 960 KiB together (240 KiB at 4:1). Under a limit of 239 KiB each file
    fits (a flat scene's spread, of the shipped model in bfloat16, compresses to about 185 kB). Before: refused before any work, 'out.tif cannot
    be written: the file size limit (ulimit -f) is 239.0 KiB, the output needs about 960.0 KiB
    uncompressed' (exit 5), of a file of 192 KiB; now both are written, each within the limit."""
    src = write_tif(tmp_path / "flat.tif", np.full((3, 64, 64), 120), dtype="uint8")
    out = tmp_path / "out.tif"
    limit = 239 * 1024
    monkeypatch.setenv("LDCSR_DTYPE", "bfloat16")  # (the run's process takes this one's environment)
    r = _ldcsr(["upscale", src, "-o", out, "-s", 4, "--samples", 2], fsize_limit=limit)  # the shipped model
    assert r.returncode == 0, r.stderr
    spread = tmp_path / "out_spread.tif"
    assert out.is_file() and spread.is_file() and _leftovers(tmp_path) == []
    assert max(out.stat().st_size, spread.stat().st_size) <= limit


def test_a_spread_file_beyond_the_size_limit_is_refused_in_its_own_name(tmp_path, tiny_model_file):
    """Under 150 KiB even the spread file at 4:1 (192 KiB) cannot fit: refused before any work, naming
    it and its size (before: 'out.tif cannot be written: … needs about 960.0 KiB', the two files' sum
    under the output's name; then 'out_spread.tif cannot be written: … the output needs about 768.0 KiB'),
    as the spread file's."""
    src = write_tif(tmp_path / "flat.tif", np.full((3, 64, 64), 120), dtype="uint8")
    out = tmp_path / "out.tif"
    r = _ldcsr(["upscale", src, "-o", out, "-s", 4, "--samples", 2, "--model", tiny_model_file],
               fsize_limit=150 * 1024)
    assert r.returncode == 5, r.stderr
    assert ("out_spread.tif cannot be written: the file size limit (ulimit -f) is 150.0 KiB, the spread file "
            "needs about 768.0 KiB uncompressed (at least 192.0 KiB compressed)") in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flat.tif"]


def test_an_output_and_spread_file_too_big_for_their_disk_are_named_both(tmp_path, monkeypatch):
    """On a file system short of room for the output and its spread file together (each alone at 4:1 fits), the
    refusal names both, each with its size; before: 'not enough space for out.tif … needs about 960.0 KiB', the output
    alone named with the two files' size (its own is 192 KiB), then (follow35) both named, still 'the output needs
    about 960.0 KiB'. Where the spread file goes to another file system,
    each is compared with its own (here /dev/shm's, if it is another: the output fits, nothing refused; the spread
    file alone too big for it is said to be the spread file, not 'the output needs about 768.0 KiB')."""
    import os

    import rasterio

    from ldcsr_core.errors import RasterIOError
    from ldcsr_core.geo import geotiff_writer, pipeline

    src = write_tif(tmp_path / "flat.tif", np.full((3, 64, 64), 120), dtype="uint8")
    monkeypatch.setattr(geotiff_writer, "free_bytes", lambda folder: 200 * 1024 if str(folder) == str(tmp_path)
                        else 2 ** 40)
    with rasterio.open(src) as ds:
        try:
            pipeline.check_room(ds, (256, 256), tmp_path / "out.tif", tmp_path / "out_spread.tif")
        except RasterIOError as e:
            said = str(e)
        else:
            raise AssertionError("not refused")
        assert said.startswith(f"not enough space for out.tif and its spread file out_spread.tif in {tmp_path}: "
                               "200.0 KiB free, the output needs about 192.0 KiB and its spread file about 768.0 KiB "
                               "uncompressed (at least 240.0 KiB together even at 4:1 compression)"), said
        pipeline.check_room(ds, (256, 256), tmp_path / "out.tif")  # the output alone fits (192 KiB, 48 at 4:1)
        other = "/dev/shm"
        if os.path.isdir(other) and os.access(other, os.W_OK) and os.stat(other).st_dev != os.stat(tmp_path).st_dev:
            pipeline.check_room(ds, (256, 256), tmp_path / "out.tif", f"{other}/out_spread.tif")
            monkeypatch.setattr(geotiff_writer, "free_bytes", lambda folder: 100 * 1024 if str(folder) == other
                                else 2 ** 40)
            with pytest.raises(RasterIOError, match=f"^not enough space for out_spread.tif in {other}: 100.0 KiB "
                                                    "free, the spread file needs about 768.0 KiB uncompressed"):
                pipeline.check_room(ds, (256, 256), tmp_path / "out.tif", f"{other}/out_spread.tif")


def test_a_spread_file_in_another_folder_of_a_disk_too_full_is_named_by_its_path(tmp_path, monkeypatch):
    """Before: 'not enough space for out.tif and its spread file s.tif in DIR' for --spread-out DIR/maps/s.tif, which is
    not in DIR; now its path, where the output's own folder is said."""
    import rasterio

    from ldcsr_core.errors import RasterIOError
    from ldcsr_core.geo import geotiff_writer, pipeline

    src = write_tif(tmp_path / "flat.tif", np.full((3, 64, 64), 120), dtype="uint8")
    (tmp_path / "maps").mkdir()
    monkeypatch.setattr(geotiff_writer, "free_bytes", lambda folder: 200 * 1024)
    with rasterio.open(src) as ds, pytest.raises(RasterIOError) as ei:
        pipeline.check_room(ds, (256, 256), tmp_path / "out.tif", tmp_path / "maps" / "s.tif")
    assert str(ei.value).startswith(f"not enough space for out.tif and its spread file {tmp_path / 'maps' / 's.tif'} "
                                    f"in {tmp_path}: 200.0 KiB free"), str(ei.value)
