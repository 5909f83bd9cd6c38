"""`ldcsr adapt` on odd scenes: what the user is told when nodata leaves the guard nothing."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner

from ldcsr_core.cli import main

from .test_adapt import scene


def test_a_scene_with_data_only_in_a_corner_says_where_the_strip_is_and_what_to_do(tiny_model_file, tmp_path):
    """Data in the top-left corner only, nodata elsewhere: exit 3 'every pixel of the held-back strip
    is nodata: the guard cannot check', which said neither where that strip is nor what to do (the
    strip with a little data said both). Now where, and the window to give; with it, adapt trains."""
    from .conftest import write_tif

    data = np.moveaxis(scene(), -1, 0).astype(np.uint16) * 256 + 1
    data[:, 48:, :] = 0
    data[:, :, 64:] = 0
    tif = write_tif(tmp_path / "corner.tif", data, dtype="uint16", nodata=0)
    before = tif.read_bytes()
    out = tmp_path / "a.safetensors"
    args = ["-q", "adapt", str(tif), "--scale", "2", "-o", str(out), "--steps", "1", "--model", str(tiny_model_file)]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 3, r.output
    assert ("the held-back strip (the last quarter of the scene or window: columns 90 to 119, rows 0 to 71) cannot "
            "guard the adaptation: every pixel of it is nodata; adapt to a window with data in its last quarter "
            "(--window; window= in Python)") in r.output, r.output
    assert not out.exists() and tif.read_bytes() == before
    r = CliRunner().invoke(main, [*args, "--window", "0,0,64,48"])
    assert r.exit_code in (0, 8) and "adaptation ×2:" in r.output, r.output  # trained and guarded
    assert tif.read_bytes() == before
