"""`ldcsr evaluate` and `ldcsr train` on images whose transparent or masked-out pixels are nodata
to the rest of the engine (alpha 0, a GDAL mask band): refused naming them, as declared nodata is."""

import re

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from PIL import Image

from ldcsr_core.cli import main
from ldcsr_core.errors import InputError
from ldcsr_core.training.data import load_rgb


def _picture(side=64):
    yy, xx = np.mgrid[:side, :side]
    base = 127 + 80 * np.sin(xx / 4) * np.cos(yy / 6)
    return np.clip(np.stack([base, base * 0.9, 255 - base], -1), 0, 255).astype(np.uint8)


def _alpha(side=64):
    a = np.full((side, side), 255, np.uint8)
    a[:, :16] = 0  # a transparent border, its colour black (as a GIS export's fill)
    return a


def _rgba_png(path):
    rgb = _picture()
    rgb[:, :16] = 0
    Image.fromarray(np.dstack([rgb, _alpha()])).save(path)


def _la_png(path):
    Image.fromarray(np.dstack([_picture()[..., 0], _alpha()]), "LA").save(path)


def _png_transparent_colour(path):
    rgb = _picture()
    rgb[:, :16] = 0
    Image.fromarray(rgb).save(path, transparency=(0, 0, 0))  # tRNS: GDAL reads it as nodata 0


def _tiff_internal_mask(path):
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        with rasterio.open(path, "w", driver="GTiff", width=64, height=64, count=3, dtype="uint8") as d:
            d.write(_picture().transpose(2, 0, 1))
            d.write_mask(_alpha())


def _png_msk_sidecar(path):
    Image.fromarray(_picture()).save(path)
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=False), rasterio.open(path, "r+") as d:
        d.write_mask(_alpha())
    assert path.with_name(path.name + ".msk").is_file()


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
@pytest.mark.parametrize("make, name, what", [(_rgba_png, "a.png", "transparent (alpha 0)"),
                                              (_la_png, "la.png", "transparent (alpha 0)"),
                                              (_png_transparent_colour, "t.png", "transparent (its transparent colour)"),
                                              (_tiff_internal_mask, "m.tif", "masked out"),
                                              (_png_msk_sidecar, "s.png", "masked out")])
def test_an_image_with_transparent_or_masked_pixels_is_refused_naming_it(tmp_path, make, name, what):
    """An RGBA PNG with a transparent border (alpha dropped by PIL), a TIFF with GDAL's internal
    mask or a PNG with a .msk sidecar: upscale and selfcheck leave those pixels out as nodata
    (selfcheck: '25 % nodata, not scored'), evaluate scored the black fill as image content (exit 0)
    and train learnt from it. Now exit 3 naming the file and the count."""
    make(tmp_path / name)
    with pytest.raises(InputError, match=re.escape(f"{name}: 1024 of its 4096 pixels are {what}")):
        load_rgb(tmp_path / name)
    r = CliRunner().invoke(main, ["evaluate", str(tmp_path), "--scales", "2", "--device", "cpu"])
    assert r.exit_code == 3 and f"{name}: 1024 of its 4096 pixels" in r.output, r.output


def test_an_opaque_alpha_channel_is_no_mask(tmp_path):
    """Alpha 255 everywhere (or a plain TIFF with overviews, several directories) loads as before."""
    Image.fromarray(np.dstack([_picture(), np.full((64, 64), 255, np.uint8)])).save(tmp_path / "o.png")
    assert (load_rgb(tmp_path / "o.png") == _picture()).all()
    Image.fromarray(_picture()).save(tmp_path / "p.tif")
    with rasterio.open(tmp_path / "p.tif", "r+") as d:
        d.build_overviews([2])
    assert (load_rgb(tmp_path / "p.tif") == _picture()).all()


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_an_ldcsr_output_in_the_folder_is_refused_naming_it(tmp_path):
    """`ldcsr upscale` writes its outputs (and spread maps) beside its inputs; evaluate then scored
    them as HR references (5 images, +0.88 dB where the 2 sources gave -0.28) and train learnt the
    model's invented detail. Now exit 3 naming the file and what made it, as adapt refuses it."""
    import ldcsr_core
    from ldcsr_core.config import tiny_test_config

    model = tmp_path / "tiny.safetensors"
    ldcsr_core.save_model(ldcsr_core.build_model(tiny_test_config(with_encoder=True), seed=0), model, name="tiny")
    Image.fromarray(_picture()).save(tmp_path / "scene.png")
    for folder, extra, made in (("out", ["--mode", "fast"], "an LDCSR output (model tiny 0"),
                                ("spread", ["--mode", "diffusion", "--samples", "2"], "an LDCSR spread map")):
        (tmp_path / folder).mkdir()
        Image.fromarray(_picture()).save(tmp_path / folder / "a.png")
        r = CliRunner().invoke(main, ["upscale", str(tmp_path / "scene.png"), "-o", str(tmp_path / folder / "x.tif"),
                                      "--scale", "2", "--model", str(model), "--device", "cpu", *extra])
        assert r.exit_code == 0, r.output
        if folder == "spread":
            (tmp_path / folder / "x.tif").unlink()  # the spread map alone
        name = "x.tif" if folder == "out" else "x_spread.tif"
        for cmd in (["evaluate", str(tmp_path / folder), "--scales", "2", "--model", str(model), "--device", "cpu"],
                    ["train", str(tmp_path / folder), "--out", str(tmp_path / "m.safetensors"), "--steps", "1", "0",
                     "0", "--lr-size", "8", "--scale-range", "2", "2", "--device", "cpu"]):
            r = CliRunner().invoke(main, cmd)
            assert r.exit_code == 3 and f"{name} is {made}" in r.output and "not measurements" in r.output, r.output
    assert not (tmp_path / "m.safetensors").exists()
