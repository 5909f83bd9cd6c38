"""``ldcsr evaluate`` of a folder holding what it cannot score: a damaged image, a ``.vrt``."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner
from PIL import Image

from ldcsr_core.cli import main


def _images(folder, n=2):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(folder / f"i{i}.png")


def _evaluate(folder, model):
    return CliRunner().invoke(main, ["evaluate", str(folder), "--model", str(model), "--scales", "2", "--device", "cpu"])


def test_an_unreadable_image_says_to_take_it_out(tmp_path, tiny_model_file):
    """Before: 'cannot read set/bad.png as a raster (...)', exit 5, and nothing on how to score the rest."""
    _images(tmp_path / "set")
    (tmp_path / "set" / "bad.png").write_text("junk")
    r = _evaluate(tmp_path / "set", tiny_model_file)
    assert r.exit_code == 5, r.output
    said = " ".join(r.output.split())
    assert f"cannot read {tmp_path / 'set' / 'bad.png'}" in said, r.output
    assert said.endswith("(move it out of the folder, or remove it, to score the other images)"), r.output


def test_a_vrt_in_the_folder_is_said_not_read(tmp_path, tiny_model_file):
    """Before: a .vrt (or .jp2, .img) in the folder was left out without a word; a folder of VRTs alone
    said 'no images (...)' as if it were empty of rasters."""
    _images(tmp_path / "set")
    (tmp_path / "set" / "v.vrt").write_text("<VRTDataset/>")
    r = _evaluate(tmp_path / "set", tiny_model_file)
    assert r.exit_code == 0, r.output
    assert (f"note: not read: {tmp_path / 'set' / 'v.vrt'} (only .bmp, .jpeg, .jpg, .png, .tif, .tiff, .webp images "
            "are; convert it to GeoTIFF to include it, e.g. gdal_translate v.vrt v.tif)") in " ".join(r.output.split())
    (tmp_path / "vrts").mkdir()
    (tmp_path / "vrts" / "v.vrt").write_text("<VRTDataset/>")
    r = _evaluate(tmp_path / "vrts", tiny_model_file)
    assert r.exit_code == 5 and f"not read: {tmp_path / 'vrts' / 'v.vrt'}" in " ".join(r.output.split()), r.output
