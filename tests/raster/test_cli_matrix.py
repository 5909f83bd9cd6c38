"""The bad-input matrix of ``ldcsr upscale`` as one table (issue 20), so that it stays true.

Every bad parameter, band list, checkpoint and odd raster a demanding user tried: each row gives
the exit status and a fragment of the one ``Error:`` line, or (status 0) a correct result that is
checked (size, bands, dtype, georeferencing). After every row: no traceback, the input untouched,
no part file, and for a refusal nothing at the output path. Faults of the machine (full disks,
damaged files, stale outputs, odd output paths) are the table of ``test_cli_faults.py``; Ctrl-C
mid-run is the last test here.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.transform import Affine

from ldcsr_core.cli import main

from .conftest import TRANSFORM, UTM33, sha256, smooth_field, write_tif

# The rows' runs read what the tiny model's run does with their input, not its loading (the checkpoint rows load
# files that are not it, each refused, so loaded afresh): it is loaded once for the table.
pytestmark = pytest.mark.usefixtures("model_loaded_once_a_module")


@dataclass
class Row:
    """``make(tmp)`` returns the input path; ``args`` follow ``upscale IN -o OUT``; ``model``: add
    ``--model tiny``; ``code`` 0 means a correct output is expected."""

    make: Callable[[Path], Path]
    args: tuple = ()
    code: int = 0
    says: str = ""
    model: bool = True


def _tif(name, bands=3, dtype="uint8", lo=0, hi=255, h=24, w=28, **kw):
    def make(tmp: Path) -> Path:
        data = smooth_field(np.random.default_rng(bands), h, w, bands, lo, hi)
        if np.dtype(dtype).kind in "iu":
            data = data.round()
        return write_tif(tmp / name, data, dtype=dtype, **kw)
    return make


def _float_nan_inf(tmp: Path) -> Path:
    data = smooth_field(np.random.default_rng(5), 24, 28, 3, 0.0, 1.0).astype(np.float32)
    data[:, 2:6, 3:9] = np.nan
    data[1, 10, 10] = np.inf
    data[2, 11, 12] = -np.inf
    return write_tif(tmp / "nan_inf.tif", data, dtype="float32")


def _complex(tmp: Path) -> Path:
    p = tmp / "complex.tif"
    with rasterio.open(p, "w", driver="GTiff", width=16, height=16, count=1, dtype="complex64",
                       crs=UTM33, transform=TRANSFORM) as ds:
        ds.write(np.ones((1, 16, 16), np.complex64))
    return p


def _complex_int16(tmp: Path) -> Path:
    """GDAL's CInt16 (a Sentinel-1 SLC's type), which NumPy has no type for."""
    p = tmp / "slc.tif"
    with rasterio.open(p, "w", driver="GTiff", width=16, height=16, count=1, dtype="complex_int16",
                       crs=UTM33, transform=TRANSFORM):
        pass  # no NumPy array can hold its pixels: left as zeros
    return p


def _plain(driver, name):
    def make(tmp: Path) -> Path:
        data = smooth_field(np.random.default_rng(7), 24, 28, 3, 0, 255).round().astype(np.uint8)
        p = tmp / name
        with rasterio.open(p, "w", driver=driver, width=28, height=24, count=3, dtype="uint8") as ds:
            ds.write(data)
        return p
    return make


def _junk_file(name, content: bytes):
    def make(tmp: Path) -> Path:
        p = tmp / name
        p.write_bytes(content)
        return p
    return make


class _RunsCode:  # unpickling this would create a file: a checkpoint must never be unpickled
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


GRAY = _tif("gray.tif", bands=1)
ROTATED = Affine(7.071, -7.071, 600000.0, -7.071, -7.071, 5340000.0)

ROWS: dict[str, Row] = {
    # --- parameters (click usage errors: 2) ------------------------------------------------
    "scale 0": Row(GRAY, ("-s", "0"), 2, "scale must be > 1"),
    "scale 1": Row(GRAY, ("-s", "1"), 2, "scale must be > 1"),
    "scale -2": Row(GRAY, ("-s", "-2"), 2, "scale must be > 1"),
    "scale 9": Row(GRAY, ("-s", "9"), 2, "<= 8"),
    "scale nan": Row(GRAY, ("-s", "nan"), 2, "scale must be"),
    "scale inf": Row(GRAY, ("-s", "inf"), 2, "scale must be"),
    "scale abc": Row(GRAY, ("-s", "abc"), 2, "scale must be a number"),
    "scale 2,": Row(GRAY, ("-s", "2,"), 2, "one number or 'X,Y'"),
    "scale 2,2,2": Row(GRAY, ("-s", "2,2,2"), 2, "one number or 'X,Y'"),
    "no scale": Row(GRAY, (), 2, "exactly one of --scale or --target-resolution"),
    "scale and resolution": Row(GRAY, ("-s", "2", "-r", "5"), 2, "exactly one of"),
    "resolution 0": Row(GRAY, ("-r", "0"), 2, "target resolution must be > 0"),
    "resolution -5": Row(GRAY, ("-r", "-5"), 2, "target resolution must be > 0"),
    "tile 0": Row(GRAY, ("-s", "2", "--tile", "0"), 2, "--tile"),
    "tile 8": Row(GRAY, ("-s", "2", "--tile", "8"), 2, "--tile"),
    "tile abc": Row(GRAY, ("-s", "2", "--tile", "abc"), 2, "--tile"),
    "mode bogus": Row(GRAY, ("-s", "2", "--mode", "bogus"), 2, "--mode"),
    "seed abc": Row(GRAY, ("-s", "2", "--seed", "abc"), 2, "--seed"),
    "device bogus": Row(GRAY, ("-s", "2", "--device", "tpu"), 2, "--device"),
    "compress bogus": Row(GRAY, ("-s", "2", "--compress", "rar"), 2, "--compress"),
    "stretch bogus": Row(GRAY, ("-s", "2", "--stretch", "log"), 2, "--stretch"),
    "samples 0": Row(GRAY, ("-s", "2", "--samples", "0"), 2, "--samples"),
    "samples 2 in fast mode": Row(GRAY, ("-s", "2", "--samples", "2", "--mode", "fast"), 2,
                                  "needs --mode diffusion"),
    # the option is named once (before: "Invalid value for '--dask': --dask: ftp:// is not ...")
    "dask address bogus": Row(GRAY, ("-s", "2", "--dask", "ftp://x"), 2,
                              "Invalid value for '--dask': ftp:// is not a Dask scheduler address"),
    "dask address without port": Row(GRAY, ("-s", "2", "--dask", "tcp://127.0.0.1"), 2,
                                     "Invalid value for '--dask': the address needs the scheduler's HOST:PORT, "
                                     "like tcp://HOST:8786"),
    "dask local:x": Row(GRAY, ("-s", "2", "--dask", "local:x"), 2,
                        "Invalid value for '--dask': local:N needs a worker count, got 'local:x'"),
    # --- band lists ------------------------------------------------------------------------
    "bands 1,2": Row(_tif("rgb.tif"), ("-s", "2", "--bands", "1,2"), 2, "--bands"),
    "bands 0,1,2": Row(_tif("rgb.tif"), ("-s", "2", "--bands", "0,1,2"), 3,
                       "band 0 does not exist: the file has bands 1..3"),
    "bands a,b,c": Row(_tif("rgb.tif"), ("-s", "2", "--bands", "a,b,c"), 2, "--bands"),
    "bands 1,2,9 of 3": Row(_tif("rgb.tif"), ("-s", "2", "--bands", "1,2,9"), 3, "band 9"),
    "bands 3,2,1": Row(_tif("rgb.tif"), ("-s", "2", "--bands", "3,2,1")),
    # --- checkpoints -----------------------------------------------------------------------
    "model: junk .safetensors": Row(GRAY, ("-s", "2", "--model", "{tmp}/junk.safetensors"), 6,
                                    "junk.safetensors", model=False),
    "model: junk .ckpt": Row(GRAY, ("-s", "2", "--model", "{tmp}/junk.ckpt"), 6, "junk.ckpt",
                             model=False),
    "model: pickle that runs code": Row(GRAY, ("-s", "2", "--model", "{tmp}/evil.ckpt"), 6,
                                        "evil.ckpt", model=False),
    "model: missing": Row(GRAY, ("-s", "2", "--model", "{tmp}/nothing.safetensors"), 2,
                          "does not exist", model=False),
    "model: a folder": Row(GRAY, ("-s", "2", "--model", "{tmp}"), 2, "is a directory",
                           model=False),
    # --- odd rasters -----------------------------------------------------------------------
    "1 band": Row(GRAY, ("-s", "2.5")),
    "2 bands": Row(_tif("two.tif", bands=2), ("-s", "2")),
    "4 bands uint16": Row(_tif("four.tif", bands=4, dtype="uint16", hi=4000), ("-s", "2")),
    "5 bands": Row(_tif("five.tif", bands=5), ("-s", "2")),
    "13 bands uint16 (Sentinel-2)": Row(_tif("s2.tif", bands=13, dtype="uint16", hi=9000),
                                        ("-s", "1.5")),
    "int16 with nodata": Row(_tif("dem.tif", bands=1, dtype="int16", lo=-300, hi=900,
                                  nodata=-32768), ("-s", "2")),
    "float32 NaN and inf": Row(_float_nan_inf, ("-s", "2")),
    "complex": Row(_complex, ("-s", "2"), 3, "unsupported data type"),
    "1x1 px": Row(_tif("dot.tif", h=1, w=1), ("-s", "2"), 3,  # as ldcsr_core.upscale refuses it
                  "the raster is 1 px wide and 1 px high; at least 4×4 pixels are needed"),
    "complex int16 (SAR SLC)": Row(_complex_int16, ("-s", "2"), 3,
                                   "unsupported data type complex_int16: complex bands"),
    "rotated transform": Row(_tif("rot.tif", transform=ROTATED), ("-s", "2")),
    "no CRS": Row(_tif("nocrs.tif", crs=None), ("-s", "2")),
    "no CRS with a target resolution": Row(_tif("nocrs.tif", crs=None), ("-r", "5"), 3, "no CRS"),
    "PNG": Row(_plain("PNG", "photo.png"), ("-s", "2")),
    "JPEG": Row(_plain("JPEG", "photo.jpg"), ("-s", "2")),
    "unicode path": Row(_tif("szene_ü_北京.tif"), ("-s", "2")),
    "not a raster": Row(_junk_file("notes.tif", b"hello, world\n"), ("-s", "2"), 5,
                        "notes.tif as a raster"),
    "empty file": Row(_junk_file("empty.tif", b""), ("-s", "2"), 5, "empty file"),
}


def _checkpoints(tmp: Path) -> Path:
    (tmp / "junk.safetensors").write_bytes(b"\x00" * 64)
    (tmp / "junk.ckpt").write_bytes(b"PK\x03\x04 not really a zip")
    marker = tmp / "PWNED"
    with open(tmp / "evil.ckpt", "wb") as f:
        pickle.dump({"state_dict": _RunsCode(str(marker))}, f)
    return marker


@pytest.mark.parametrize("name", list(ROWS))
def test_upscale_matrix(name, tmp_path, tiny_model_file):
    row = ROWS[name]
    inputs, outs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    outs.mkdir()
    marker = _checkpoints(tmp_path)
    src = row.make(inputs)
    before = sha256(src)
    out = outs / "result.tif"
    args = ["upscale", str(src), "-o", str(out), *[a.format(tmp=tmp_path) for a in row.args]]
    if row.model:
        args += ["--model", str(tiny_model_file)]
    if "--mode" not in args and "--samples" not in args:
        args += ["--mode", "fast"]
    r = CliRunner().invoke(main, args, catch_exceptions=True)
    text = r.output
    assert "Traceback" not in text
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code == row.code, text
    assert sha256(src) == before  # the input is never modified
    assert not marker.exists()  # no pickled code ran
    assert not [p for p in outs.iterdir() if "ldcsr-part" in p.name]
    if row.code:
        errors = [ln for ln in text.splitlines() if ln.startswith("Error")]
        assert len(errors) == 1 and row.says in errors[0], text
        assert not out.exists()
        return
    with rasterio.open(src) as s, rasterio.open(out) as o:
        scale = float(args[args.index("-s") + 1])
        assert (o.height, o.width) == (round(s.height * scale), round(s.width * scale))
        assert o.count == s.count and o.dtypes == s.dtypes
        if s.nodata is None and np.dtype(s.dtypes[0]).kind == "f":  # its invalid pixels are NaN: declared
            assert np.isnan(o.nodata)
        else:
            assert o.nodata == s.nodata
        assert o.crs == s.crs
        if s.crs is not None:  # the output covers exactly the input's bounds
            np.testing.assert_allclose(o.bounds, s.bounds, atol=1e-6 * max(map(abs, s.bounds)))
        data = o.read()
        if np.dtype(s.dtypes[0]).kind == "f":
            src_nan = np.isnan(s.read(1))
            assert np.isfinite(data[0]).any()
            assert src_nan.any() == np.isnan(data[0]).any()  # invalid pixels stay invalid


def _ctrl_c_once(cmd, ready) -> tuple[int, str]:
    """Run ``cmd``, press Ctrl-C (SIGINT) half a second after ``ready()`` holds: (exit code, stderr)."""
    p = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True,
                         # as from a terminal, even when pytest runs in the background (SIGINT ignored)
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline and not ready():
        time.sleep(0.05)
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    return p.returncode, err


def test_ctrl_c_mid_run_exits_130_and_leaves_nothing(tmp_path, tiny_model_file):
    """SIGINT after the first tiles: exit 130, one line, no output and no part file."""
    src = write_tif(tmp_path / "big.tif", smooth_field(np.random.default_rng(3), 192, 192, 3, 0, 255).round(),
                    dtype="uint8")
    out = tmp_path / "o.tif"
    code, err = _ctrl_c_once([sys.executable, "-m", "ldcsr_core.cli", "upscale", str(src), "-o", str(out),
                              "-s", "4", "--mode", "fast", "--tile", "32", "--model", str(tiny_model_file)],
                             lambda: any(".ldcsr-part" in q.name for q in tmp_path.iterdir()))
    assert code == 130, err
    assert [ln for ln in err.splitlines() if ln.startswith("Error")] == [
        "Error: interrupted; no partial output was left"], err
    assert sorted(q.name for q in tmp_path.iterdir()) == ["big.tif"]
    assert "Traceback" not in err and os.path.exists(src)


def test_ctrl_c_in_a_batch_says_what_was_written_and_the_rerun_resumes(tmp_path, tiny_model_file):
    """SIGINT during the 2nd of 3 inputs: the finished output stays and is listed, with how to go on;
    the same command again (run in this process) skips it and writes the other two."""
    ins, outs = tmp_path / "in", tmp_path / "out"
    ins.mkdir()
    outs.mkdir()
    rng = np.random.default_rng(4)
    for name, side in (("a", 48), ("b", 128), ("c", 48)):
        write_tif(ins / f"{name}.tif", smooth_field(rng, side, side, 3, 0, 255).round(), dtype="uint8")
    cmd = [sys.executable, "-m", "ldcsr_core.cli", "upscale", str(ins), "-o", str(outs), "-s", "4", "--mode", "fast",
           "--tile", "32", "--model", str(tiny_model_file)]
    code, err = _ctrl_c_once(cmd, lambda: any("b_sr" in q.name for q in outs.iterdir()))
    assert code == 130, err
    assert f"written  {ins / 'a.tif'} -> {outs / 'a_sr.tif'}" in err
    assert "interrupted after 1 of 3 inputs; run the same command again to resume" in err
    assert err.strip().splitlines()[-1] == "Error: interrupted; no partial output was left"
    assert sorted(q.name for q in outs.iterdir()) == ["a_sr.tif"]
    r = CliRunner().invoke(main, cmd[3:])  # the same command again, here: no signal to it, no new torch import
    assert r.exit_code == 0 and "3 inputs: 2 written, 1 skipped, 0 failed" in r.stderr, r.output
