"""An earlier result of ldcsr cut short at a batch's output (a copy of the output folder that stopped part way)
has lost its tags with its end (its TIFF directory is written last): it is no readable result, and the refusal
says so, not that this tool did not write it."""

from __future__ import annotations

import shutil

from . import test_batch_outputs
from .test_batch_outputs import FAST, run

folders = test_batch_outputs.folders  # the fixture: empty in/ and out/ folders


def test_a_result_of_this_tool_cut_short_is_not_said_to_be_anothers(rasters, tiny_model_file, folders):
    """Before: 'output exists that this tool did not write: out/a_sr.tif (a raster ldcsr did not write); ...' of
    the output this very command had written, then copied short (its pixels whole, its tags gone), or '(a TIFF
    that cannot be read: damaged or cut short)' where less of it is left."""
    inp, out = folders
    for name in ("a", "b"):
        shutil.copy(rasters["gray"], inp / f"{name}.tif")
    args = ("upscale", inp, "-o", out, *FAST, "--model", tiny_model_file)
    assert run(*args).exit_code == 0
    for kept, what in ((0.9, "a raster of ldcsr whose tags are lost: damaged or cut short"),
                       (0.3, "a TIFF that cannot be read: damaged or cut short")):
        with open(out / "a_sr.tif", "r+b") as f:
            f.truncate(int(f.seek(0, 2) * kept))
        r = run(*args)
        assert r.exit_code == 4, r.output
        said = " ".join(r.output.split())
        assert (f"output exists that is no readable result of this tool: {out / 'a_sr.tif'} ({what}); move it away "
                "(or remove it) and run again to keep the batch's complete outputs (they are skipped), or use "
                "--overwrite") in said, r.output
        assert "did not write" not in said, r.output
