"""A spread map (``ldcsr upscale --samples K``'s uncertainty) given to upscale as a picture is refused before
any work, by the engine's one rule (``geo.job.check_not_spread_map``) the CLI, the Python API, napari and
QGIS use."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ldcsr_core.cli import main
from ldcsr_core.errors import InputError

from tests.spread_files import make_spread

SAID = ("scene_x2_spread.tif is an LDCSR spread map: its values are the uncertainty of an output (how much its "
        "diffusion samples disagreed), not a picture, so it is not upscaled; upscale its source (scene.tif) instead")


def test_upscale_refuses_a_spread_map_before_loading_a_model(tmp_path, monkeypatch):
    """Before: 'ldcsr upscale scene_x2_spread.tif' super-resolved the spread as a picture and said nothing. Now it
    exits 3 (bad input) with what the file is and what to upscale, before the model loads (a batch: that input fails)."""
    _, spread = make_spread(tmp_path)
    import ldcsr_core.cli.upscale_cmd as up

    def no_model(*_a, **_k):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(up, "_load_model", no_model)
    out = tmp_path / "again.tif"
    r = CliRunner().invoke(main, ["upscale", str(spread), "-o", str(out), "--scale", "2"])
    assert r.exit_code == 3, r.output
    assert SAID in " ".join(r.output.split()) and not out.exists()
    folder = tmp_path / "in"
    folder.mkdir()
    spread.rename(folder / spread.name)
    (tmp_path / "outs").mkdir()
    r = CliRunner().invoke(main, ["upscale", str(folder), "-o", str(tmp_path / "outs"), "--scale", "2"])
    assert r.exit_code == 1 and SAID in " ".join(r.output.split()), r.output


def test_the_python_api_refuses_a_spread_map(tmp_path, tiny_model):
    from ldcsr_core.geo.pipeline import upscale_raster

    _, spread = make_spread(tmp_path)
    with pytest.raises(InputError) as e:
        upscale_raster(spread, tmp_path / "again.tif", model=tiny_model, scale=2)
    assert str(e.value) == SAID and not (tmp_path / "again.tif").exists()


def test_info_and_upscale_agree_on_a_spread_map_saved_from_napari(tmp_path):
    """A spread layer saved from napari says what it is in its LDCSR_PROVENANCE tag (kind "spread", as
    ``saved_tags`` writes a layer's ``metadata["ldcsr"]``), without upscale's LDCSR_SPREAD tag. Before: upscale
    refused it as a spread map, yet 'ldcsr info' described it as a picture to upscale ("model input: triplets
    (1,2,3)", an output size). Now info says "spread map:" and plans no output, by the same rule."""
    import json

    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path / "saved_spread.tif"
    with rasterio.open(path, "w", driver="GTiff", height=40, width=48, count=3, dtype="float32", crs="EPSG:32633",
                       transform=from_origin(500000, 4000000, 10, 10)) as ds:
        ds.write(np.random.default_rng(2).random((3, 40, 48), dtype=np.float32))
        ds.update_tags(LDCSR_PROVENANCE=json.dumps({"source_layer": "scene", "scale": 2.0, "kind": "spread"}))
    info = CliRunner().invoke(main, ["info", str(path)])
    assert info.exit_code == 0, info.output
    lines = info.output.splitlines()
    assert any(ln.startswith("spread map:  each band the spread of the band it names") for ln in lines), info.output
    assert not any(ln.startswith(("model input:", "output:")) for ln in lines), info.output
    r = CliRunner().invoke(main, ["upscale", str(path), "-o", str(tmp_path / "again.tif"), "--scale", "2"])
    assert r.exit_code == 3 and "saved_spread.tif is an LDCSR spread map" in " ".join(r.output.split()), r.output


SELFCHECK_SAID = ("scene_x2_spread.tif is an LDCSR spread map: its values are the uncertainty of an output (how much "
                  "its diffusion samples disagreed), not a picture, so it is not self-checked; self-check its source "
                  "(scene.tif) instead")


def test_selfcheck_refuses_a_spread_map_by_upscales_rule(tmp_path, monkeypatch, tiny_model):
    """Before: 'ldcsr selfcheck scene_x2_spread.tif -s 2' scored the uncertainty as a picture (exit 0, dB figures)
    with only a caution that its pixels are not measurements. Now it exits 3 (bad input) before the model loads,
    by upscale's rule (geo.job.check_not_spread_map), and the Python API's selfcheck refuses it too (napari and
    QGIS call it). evaluate already refused one in its folder (any file LDCSR made), exit 3."""
    import ldcsr_core.cli.upscale_cmd as up
    from ldcsr_core import selfcheck

    _, spread = make_spread(tmp_path)

    def no_model(*_a, **_k):
        raise AssertionError("the model was loaded")

    with monkeypatch.context() as m:
        m.setattr(up, "_load_model", no_model)
        r = CliRunner().invoke(main, ["selfcheck", str(spread), "-s", "2", "--mode", "fast", "--device", "cpu"])
    assert r.exit_code == 3 and SELFCHECK_SAID in " ".join(r.output.split()), r.output
    with pytest.raises(InputError) as e:
        selfcheck(str(spread), 2, model=tiny_model, mode="fast")
    assert str(e.value) == SELFCHECK_SAID
    folder = tmp_path / "hr"
    folder.mkdir()
    spread.rename(folder / spread.name)
    r = CliRunner().invoke(main, ["evaluate", str(folder), "--scales", "2", "--device", "cpu"])
    assert r.exit_code == 3 and "scene_x2_spread.tif is an LDCSR spread map" in " ".join(r.output.split()), r.output


ADAPT_SAID = ("scene_x2_spread.tif is an LDCSR spread map: its values are the uncertainty of an output (how much "
              "its diffusion samples disagreed), not a picture, so it is not adapted to; adapt to its source "
              "(scene.tif) instead")


def test_adapt_refuses_a_spread_map_in_its_own_words_before_loading_a_model(tmp_path, monkeypatch, tiny_model):
    """Before: 'ldcsr adapt scene_x2_spread.tif' was refused after the model loaded, as any file LDCSR made ('the
    scene is an LDCSR spread map (model …): its pixels are not measurements, …'), not naming the file or its
    source. Now it exits 3 before the model loads, by upscale's rule in adapt's words, and so does the Python API."""
    import ldcsr_core.cli.upscale_cmd as up
    from ldcsr_core.adaptation import adapt

    _, spread = make_spread(tmp_path)

    def no_model(*_a, **_k):
        raise AssertionError("the model was loaded")

    out = tmp_path / "m.safetensors"
    with monkeypatch.context() as m:
        m.setattr(up, "_load_model", no_model)
        r = CliRunner().invoke(main, ["adapt", str(spread), "-s", "2", "-o", str(out), "--steps", "1"])
    assert r.exit_code == 3 and ADAPT_SAID in " ".join(r.output.split()), r.output
    assert not out.exists()
    with pytest.raises(InputError) as e:
        adapt(str(spread), 2, tiny_model, steps=1)
    assert str(e.value) == ADAPT_SAID
