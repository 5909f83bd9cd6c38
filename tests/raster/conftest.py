"""Real GeoTIFFs written by the tests, and a tiny random-weight model (fast, CPU)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")
from rasterio.crs import CRS  # noqa: E402
from rasterio.enums import ColorInterp  # noqa: E402
from rasterio.transform import from_origin  # noqa: E402

UTM33 = CRS.from_epsg(32633)
# 10 m pixels, origin at a UTM 33N easting/northing (Vienna-ish), as a Sentinel-2 tile would be.
TRANSFORM = from_origin(600000.0, 5340000.0, 10.0, 10.0)


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def cli_here(args):
    """``ldcsr -q ARGS`` in this process (click's CliRunner), for a run whose file a test needs rather
    than its process's behaviour (no limit, no signal): no new interpreter importing torch again."""
    from click.testing import CliRunner

    from ldcsr_core.cli import main

    return CliRunner().invoke(main, ["-q", *[str(a) for a in args]])


def smooth_field(rng, h, w, bands, lo, hi):
    """Smooth random bands in [lo, hi] (model inputs with structure, not white noise)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    out = np.empty((bands, h, w))
    for b in range(bands):
        fx, fy, ph = rng.uniform(0.02, 0.15, 3)
        f = 0.5 + 0.25 * np.sin(fx * xx + ph * 7) + 0.25 * np.cos(fy * yy + b)
        f += 0.05 * rng.standard_normal((h, w))
        out[b] = lo + (hi - lo) * np.clip(f, 0, 1)
    return out


def write_tif(path, data, *, dtype, nodata=None, colorinterp=None, descriptions=None, tags=None,
              crs=UTM33, transform=TRANSFORM, band_tags=None):
    count, h, w = data.shape
    prof = dict(driver="GTiff", width=w, height=h, count=count, dtype=dtype, crs=crs,
                transform=transform, nodata=nodata)
    if dtype == "uint8" and count in (3, 4) and colorinterp and colorinterp[0] == ColorInterp.red:
        prof["photometric"] = "RGB"
    if colorinterp and colorinterp[-1] == ColorInterp.alpha:
        prof["alpha"] = "YES"
    with rasterio.open(path, "w", **prof) as ds:
        ds.write(data.astype(dtype))
        if colorinterp is not None:
            ds.colorinterp = colorinterp
        for i, d in enumerate(descriptions or [], start=1):
            ds.set_band_description(i, d)
        if tags:
            ds.update_tags(**tags)
        for i, bt in (band_tags or {}).items():
            ds.update_tags(i, **bt)
    return Path(path)


def ctrl_c_while_writing(p, folder) -> str:
    """Ctrl-C to ``p`` (started in its own session: SIGINT to its process group, as a terminal sends
    it) a second after its part file appears in ``folder``: its stderr. A run that has not ended 120 s
    later is killed with its group (its workers), not left running after the test."""
    import os
    import signal
    import time

    try:
        deadline = time.time() + 180
        while time.time() < deadline and not any(".ldcsr-part" in q.name for q in folder.iterdir()):
            time.sleep(0.05)
        time.sleep(1.0)  # the workers compute tiles
        os.killpg(p.pid, signal.SIGINT)
        return p.communicate(timeout=120)[1]
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()


def exact_nodata_vrt(folder, data, nodata, *, georef: bool = True) -> Path:
    """``data`` (bands×h×w) written to ``folder/b.tif`` and described by ``folder/s.vrt`` (returned),
    which declares ``nodata`` exactly on every band: rasterio's writer cannot set a 64-bit nodata
    that float64 cannot hold (it writes -2**63 as -9). ``georef``: EPSG:32633, 10-m pixels; else none."""
    count, h, w = data.shape
    dtype = str(data.dtype)
    with rasterio.open(Path(folder) / "b.tif", "w", driver="GTiff", width=w, height=h, count=count,
                       dtype=dtype) as ds:
        ds.write(data)
    bands = "".join(f'<VRTRasterBand dataType="{dtype.title()}" band="{b}"><NoDataValue>{nodata}</NoDataValue>'
                    f'<SimpleSource><SourceFilename relativeToVRT="1">b.tif</SourceFilename><SourceBand>{b}'
                    '</SourceBand></SimpleSource></VRTRasterBand>' for b in range(1, count + 1))
    geo = ('<SRS>EPSG:32633</SRS><GeoTransform>600000, 10, 0, 5340000, 0, -10</GeoTransform>'
           if georef else "")
    vrt = Path(folder) / "s.vrt"
    vrt.write_text(f'<VRTDataset rasterXSize="{w}" rasterYSize="{h}">{geo}{bands}</VRTDataset>')
    return vrt


def distributed_tile(i):
    """Tile ``i`` of a 2×2 → 4×4 plan: for the Dask runner's tests (no real plan needed)."""
    from ldcsr_core.tileplan import Span, Tile
    return Tile(i, Span(0, 2), Span(0, 2), Span(0, 4), Span(0, 4))


@pytest.fixture(scope="session")
def rasters(tmp_path_factory) -> dict[str, Path]:
    """The test scenes: projected CRS; uint16 4-band + nodata; float32 + NaN; RGBA; grayscale."""
    d = tmp_path_factory.mktemp("rasters")
    rng = np.random.default_rng(0)
    h, w = 45, 61  # odd sizes: non-integer scales must keep the exact grid

    u16 = smooth_field(rng, h, w, 4, 200, 12000).round()
    u16[:, 5:14, 7:20] = 0  # nodata block (all bands)
    u16[3, 30:34, 40:44] = 0  # nodata in the NIR band only
    out = {
        "uint16_nodata": write_tif(
            d / "s2_uint16.tif", u16, dtype="uint16", nodata=0,
            colorinterp=[ColorInterp.red, ColorInterp.green, ColorInterp.blue,
                         ColorInterp.undefined],
            descriptions=["B4 red", "B3 green", "B2 blue", "B8 nir"],
            tags={"ACQUISITION": "2024-06-01", "SENSOR": "S2A"},
            band_tags={4: {"WAVELENGTH": "842nm"}},
        ),
    }
    f32 = smooth_field(rng, h, w, 3, -0.2, 0.8).astype(np.float32)
    f32[:, 20:28, 30:41] = np.nan
    f32[1, 2, 3] = np.nan
    out["float32_nan"] = write_tif(d / "refl_f32.tif", f32, dtype="float32",
                                   descriptions=["r", "g", "b"])
    rgba = smooth_field(rng, h, w, 4, 0, 255).round()
    rgba[3] = 255
    rgba[3, :, :12] = 0  # transparent left strip
    out["rgba"] = write_tif(
        d / "rgba.tif", rgba, dtype="uint8",
        colorinterp=[ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha])
    gray = smooth_field(rng, h, w, 1, 10, 240).round()
    out["gray"] = write_tif(d / "gray.tif", gray, dtype="uint8",
                            colorinterp=[ColorInterp.gray])
    i16 = smooth_field(rng, h, w, 3, -3000, 3000).round()
    i16[:, -6:, -9:] = -32768
    out["int16_nodata"] = write_tif(d / "dem_like_i16.tif", i16, dtype="int16", nodata=-32768)
    return out


@pytest.fixture(scope="session")
def tiny_model():
    ldcsr_core = pytest.importorskip("ldcsr_core")
    from ldcsr_core.config import tiny_test_config

    return ldcsr_core.build_model(config=tiny_test_config(), seed=0)


@pytest.fixture(scope="session")
def tiny_model_file(tmp_path_factory, tiny_model) -> Path:
    from ldcsr_core import save_model

    p = tmp_path_factory.mktemp("models") / "tiny.safetensors"
    return save_model(tiny_model, p, name="tiny-test", version="0", notes="random weights")


@pytest.fixture(scope="session")
def single_process(rasters, tiny_model, tmp_path_factory):
    """``single_process(tile_max, options) -> (path, tiles)``: the uint16 scene (4 bands: 2 model passes
    a tile, with nodata) upscaled ×2 by the tiny model in this process, in windows of ``tile_max`` px,
    with ``options``: the file a Dask run of the same request must equal (the Dask tests), made once a
    session for each request."""
    from ldcsr_core.geo.pipeline import upscale_raster

    made = {}

    def reference(tile_max: int, options):
        if (tile_max, options) not in made:
            kept = tiny_model.tile_max
            tiny_model.tile_max = tile_max
            try:
                out = tmp_path_factory.mktemp("single") / "single.tif"
                res = upscale_raster(rasters["uint16_nodata"], out, model=tiny_model, scale=2.0, options=options)
            finally:
                tiny_model.tile_max = kept
            made[tile_max, options] = out, res.tiles
        return made[tile_max, options]

    return reference


@pytest.fixture
def stopped_where_the_model_loads(monkeypatch):
    """``ldcsr upscale`` and ``selfcheck`` made to stop where the model loads (exit 1): what a run says before it loads
    the model, read without running it; the line its stderr then ends with."""
    import click

    from ldcsr_core.cli import upscale_cmd

    def stop(*_args, **_kwargs):
        raise click.ClickException("stopped where the model loads")

    monkeypatch.setattr(upscale_cmd, "_load_model", stop)
    return "Error: stopped where the model loads\n"


@pytest.fixture
def base(tiny_model_file):
    """The tiny model loaded for adaptation (float32 on the CPU): the base of the adaptation tests."""
    import ldcsr_core

    return ldcsr_core.load_model(tiny_model_file, device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def two_machines(tmp_path_factory, tiny_model_file):
    """2 real ``dask worker`` processes of 1 Dask thread each, on a scheduler in this process, kept for
    the session (test_dask_model, test_dask_threads, test_dask_faults, test_dask_cluster: each test
    gets them as the last left them, :func:`machines`): one in good/ (the client's model at dask_workers.PER_WORKER_MODEL),
    one in bad/ (none). Each worker process starts and imports torch once a session, not once a module
    (under pytest-xdist's load scheduling, a module's tests can be run in several stretches)."""
    pytest.importorskip("distributed")
    from .dask_workers import machines

    with machines(tmp_path_factory.mktemp("machines"), tiny_model_file) as m:
        yield m


@pytest.fixture
def machines(two_machines):
    """The session's :func:`two_machines`, as the last test left them: bad/ empty, the workers a test
    started stopped, no model plugin left (dask_workers.Machines.for_a_test)."""
    with two_machines.for_a_test() as m:
        yield m


@pytest.fixture
def client(machines):
    """A client of the session's 2 worker processes (:func:`two_machines`), for runs whose model the
    workers build or find at the same path: where the workers run does not matter to them."""
    return machines.c


def _loading_once(setattr) -> dict:
    """``ldcsr_core.load_model`` replaced (through ``setattr``, a monkeypatch's) by one that loads each (model,
    arguments, LDCSR_* settings) once and hands the same model to every later call asking for it; a model file whose
    bytes are others since (its SHA-256: before, its inode, size and times, which a same-size rewrite within the
    file system's clock tick keeps, and the stale model was handed back) is loaded again, and so is the file a name
    or None stands for where that file is another now. Returns the loads made, by their key."""
    import os

    import ldcsr_core
    from ldcsr_core import checkpoints
    from ldcsr_core.files import sha256_file

    real, loaded = ldcsr_core.load_model, {}

    def once(source=None, **kwargs):
        try:  # the file load_model reads (a name's, None's: the built-in default's), by load_model's own rule
            file = checkpoints.model_path(source)
        except Exception:  # noqa: BLE001 - load_model below says what is wrong, and nothing is kept
            file = None
        digest = sha256_file(file) if file is not None and os.path.isfile(file) else None  # tiny: 25 ms, its load 450
        key = (str(source), str(file), digest, repr(sorted(kwargs.items())),
               tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("LDCSR_"))))  # LDCSR_DTYPE's "auto"
        if key not in loaded:
            loaded[key] = real(source, **kwargs)
        return loaded[key]

    setattr(ldcsr_core, "load_model", once)
    return loaded


@pytest.fixture
def model_loaded_once(monkeypatch):
    """``ldcsr_core.load_model`` made to load each (model, arguments) once in this test and hand the same model to
    every later run that asks for it (:func:`_loading_once`): for tests of what runs do after their model loads, not
    of the loading (each CLI run in this process loads its model again: 0.2-0.5 s for the tiny one). The loads
    made, by their key."""
    return _loading_once(monkeypatch.setattr)


@pytest.fixture(scope="module")
def model_loaded_once_a_module():
    """:func:`model_loaded_once` for a whole module (a table of CLI runs, one test a row, each loading the same
    model): each (model, arguments) loaded once in the module. For modules whose runs do not change the model
    they are handed. The loads made, by their key."""
    with pytest.MonkeyPatch.context() as mp:
        yield _loading_once(mp.setattr)
