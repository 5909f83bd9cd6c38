"""A ``.vrt`` in a folder of training or evaluation images that reads images of that folder (a mosaic of its
tiles) is left out, and said: read too, those pixels would be trained on and scored twice."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner
from PIL import Image

from ldcsr_core.cli import main
from ldcsr_core.training.data import check_source, load_named_images


def _set(tmp_path):
    """set/i0.png, set/i1.png, set/m.vrt over i0.png, set/o.vrt over t.png outside the set."""
    from rasterio.shutil import copy

    (tmp_path / "set").mkdir()
    rng = np.random.default_rng(0)
    for name in ("set/i0.png", "set/i1.png", "t.png"):
        Image.fromarray(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(tmp_path / name)
    copy(tmp_path / "set" / "i0.png", tmp_path / "set" / "m.vrt", driver="VRT")
    copy(tmp_path / "t.png", tmp_path / "set" / "o.vrt", driver="VRT")
    return tmp_path / "set"


def test_evaluate_scores_a_vrt_of_the_folders_images_once(tmp_path, tiny_model_file):
    """Before (since evaluate reads a .vrt): '· 4 images', i0.png's pixels scored twice, without a word."""
    folder = _set(tmp_path)
    r = CliRunner().invoke(main, ["evaluate", str(folder), "--model", str(tiny_model_file), "--scales", "2",
                                  "--device", "cpu"])
    assert r.exit_code == 0, r.output
    assert "· 3 images" in r.output, r.output  # i0, i1 and o.vrt (whose source is outside the set)
    assert (f"note: not read: {folder / 'm.vrt'} (it reads {folder / 'i0.png'}, an image read already: its pixels "
            "would count twice; move it out of the folder to silence this)") in " ".join(r.output.split()), r.output


def test_train_data_reads_a_vrt_of_the_folders_images_once(tmp_path):
    """Before: DATA's images were i0.png, i1.png, m.vrt (i0.png's pixels again: weighted double), o.vrt."""
    folder = _set(tmp_path)
    assert [n for n, _ in load_named_images(folder)] == [str(folder / n) for n in ("i0.png", "i1.png", "o.vrt")]
    assert check_source(folder) == [(folder / "m.vrt", folder / "i0.png")]
