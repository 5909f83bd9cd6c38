"""A spread file that is a file the input reads (a VRT's source) is refused as the spread file, naming
--spread-out. Before: "Invalid value for '-o': output path is …" of an -o the user gave right."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from ldcsr_core.cli import main
from ldcsr_core.errors import InputError


def _vrt_of(tmp_path):
    src = tmp_path / "b.tif"
    data = np.random.default_rng(0).integers(1, 255, (3, 32, 32), dtype=np.uint8)
    with rasterio.open(src, "w", driver="GTiff", width=32, height=32, count=3, dtype="uint8") as ds:
        ds.write(data)
    bands = "".join(f"""<VRTRasterBand dataType="Byte" band="{b}"><SimpleSource>
<SourceFilename relativeToVRT="1">b.tif</SourceFilename><SourceBand>{b}</SourceBand>
<SrcRect xOff="0" yOff="0" xSize="32" ySize="32"/><DstRect xOff="0" yOff="0" xSize="32" ySize="32"/>
</SimpleSource></VRTRasterBand>""" for b in (1, 2, 3))
    vrt = tmp_path / "v.vrt"
    vrt.write_text(f'<VRTDataset rasterXSize="32" rasterYSize="32">{bands}</VRTDataset>')
    return vrt, src


def test_the_command_line_refuses_a_vrt_source_as_the_spread_file(tiny_model_file, tmp_path):
    vrt, src = _vrt_of(tmp_path)
    before = src.read_bytes()
    r = CliRunner().invoke(main, ["upscale", str(vrt), "-o", str(tmp_path / "o.tif"), "--scale", "2", "--samples",
                                  "2", "--spread-out", str(src), "--model", str(tiny_model_file), "--device", "cpu"])
    assert r.exit_code == 2, r.output
    assert "Invalid value for '--spread-out': spread output path is a" in r.output, r.output
    assert src.read_bytes() == before and not (tmp_path / "o.tif").exists()


def test_the_engine_refuses_a_vrt_source_as_the_spread_file(tiny_model_file, tmp_path):
    import ldcsr_core
    from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster

    vrt, src = _vrt_of(tmp_path)
    with pytest.raises(InputError, match=r"^spread output path is a .*b\.tif \(inputs are never overwritten\)"):
        upscale_raster(vrt, tmp_path / "o.tif", model=ldcsr_core.load_model(tiny_model_file, device="cpu"), scale=2,
                       options=UpscaleOptions(mode="diffusion", samples=2), spread_path=src)
