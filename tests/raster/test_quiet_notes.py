"""``ldcsr -q`` is errors and the notes that a result is untested (docs/cli.md): a scale below ×1.25 and pixels
outside the shipped models' training imagery are still said, on stderr, while a note that changes nothing of the
result (a ``--tile`` diffusion mode does not use) is not; before, docs said "errors only" and every note printed."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner
from rasterio.transform import from_origin

from ldcsr_core.cli import main

from .conftest import write_tif


def _notes(tmp_path, quiet: bool, *args):
    """The starts of the ``note:`` lines of an upscale."""
    src = tmp_path / "in.tif"  # 10 m pixels: outside the shipped models' 0.1–2 m
    write_tif(src, np.random.default_rng(0).integers(0, 255, (3, 40, 40)), dtype="uint8",
              transform=from_origin(600000.0, 5340000.0, 10.0, 10.0))
    r = CliRunner().invoke(main, [*(["-q"] if quiet else []), "upscale", str(src), "-o", str(tmp_path / "o.tif"),
                                  "--device", "cpu", "--overwrite", *args])
    assert r.exit_code == 0 and (tmp_path / "o.tif").exists(), r.output
    return [line.split(" is below")[0].split(" on the ground")[0].split(" applies")[0]
            for line in r.output.splitlines() if line.startswith("note: ")]


def test_quiet_keeps_the_notes_that_a_result_is_untested_and_drops_the_others(tmp_path):
    args = ("-s", "1.1", "--mode", "diffusion", "--tile", "64")  # the shipped model, below ×1.25, on 10 m pixels
    untested = ["note: ×1.1", "note: at ×1.1 the scene's 10 m pixels make ones of 9.09 m"]
    assert _notes(tmp_path, True, *args) == untested  # before: the --tile note too
    assert _notes(tmp_path, False, *args) == ["note: --tile 64", *untested]
