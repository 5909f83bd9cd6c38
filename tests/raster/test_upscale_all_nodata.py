"""``ldcsr upscale`` of an input whose every pixel is nodata: written (an output all nodata, as a batch of a mosaic's
tiles needs it), and its line says so in the engine's words (``geo.job.empty_note``, as napari's Run says it)."""

from __future__ import annotations

import re

import numpy as np
import rasterio
from click.testing import CliRunner

from ldcsr_core.cli import main

from .conftest import write_tif


def test_an_input_all_nodata_is_said_to_make_an_output_all_nodata(tmp_path, tiny_model_file):
    """Before: 'written  s.tif -> o.tif: 64x64 -> 128x128, 1 tile (1 empty), …', which read as one tile of
    several; now '1 tile (empty: nodata everywhere)'; a partly empty input keeps '(N empty)'."""
    src = write_tif(tmp_path / "s.tif", np.zeros((3, 64, 64)), dtype="uint8", nodata=0)
    r = CliRunner().invoke(main, ["upscale", str(src), "-o", str(tmp_path / "o.tif"), "-s", "2", "--mode", "fast",
                                  "-m", str(tiny_model_file)])
    assert r.exit_code == 0, r.output
    assert f"{src} -> {tmp_path / 'o.tif'}: 64x64 -> 128x128, 1 tile (empty: nodata everywhere), " in r.stderr
    with rasterio.open(tmp_path / "o.tif") as out:
        assert out.shape == (128, 128) and out.read(masked=True).mask.all()
    data = np.random.default_rng(0).integers(1, 255, (3, 96, 96))
    data[:, :, 48:] = 0
    part = write_tif(tmp_path / "p.tif", data, dtype="uint8", nodata=0)
    r = CliRunner().invoke(main, ["upscale", str(part), "-o", str(tmp_path / "po.tif"), "-s", "2", "--mode", "fast",
                                  "-m", str(tiny_model_file), "--tile", "32"])
    assert r.exit_code == 0, r.output
    tiles, empty = map(int, re.search(r"96x96 -> 192x192, (\d+) tiles \((\d+) empty\)", r.stderr).groups())
    assert 0 < empty < tiles, r.stderr
