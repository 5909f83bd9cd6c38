"""The advice of an output name's refusal is one the user can follow as written.

Before (main after names33):

* ``ldcsr upscale a.tif -o usb/ -k 2 --spread-out usb/CON.tif`` (a spread name of the user's own, an output folder)
  said the spread name was "made from the input a.tif: rename it to a_1.tif, or give -o a name of your own instead
  of a folder (-o usb/CON_1.tif)": advice for another file, suggesting the output be named as the spread file;
* a folder run's device-name advice gave ``-o`` a path unquoted: ``(-o /media/usb/My Maps/CON_1.x_sr.tif)``,
  two words to a shell;
* ``-o out/<246 x>.tif -k 2``, whose spread file ``…_spread.tif`` is too long, said "choose a shorter name", of a
  name the user never gave (the spread file's is made from -o's, or given with --spread-out);
* ``ldcsr train --out <236 w>.safetensors`` said of its ``-after-fast`` copy "choose a shorter name", a name the
  user cannot choose either (it is made from --out's).
"""

from __future__ import annotations

import shutil

from tests.raster.test_output_names import FAST, _mounted_as, _no_model, run

SPREAD = ("-s", 2, "--mode", "diffusion", "--samples", 2, "--device", "cpu")


def test_a_spread_name_of_ones_own_is_not_said_to_be_made_from_the_input(tmp_path, rasters, monkeypatch):
    usb = tmp_path / "usb"
    usb.mkdir()
    _mounted_as(monkeypatch, usb, "vfat")
    _no_model(monkeypatch)
    for given, said in (("CON.tif", "spread output name CON.tif names a Windows device (CON, the console) "),
                        ("x" * 252 + ".tif", "spread output name too long: ")):
        r = run("upscale", rasters["gray"], "-o", usb, *SPREAD, "--spread-out", usb / given)
        assert r.exit_code == 2 and said in r.output, r.output
        assert "made from the input" not in r.output and " -o " not in r.output, r.output
    r = run("upscale", rasters["gray"], "-o", usb, *SPREAD, "--spread-out", usb / "CON.tif")
    assert r.output.rstrip().endswith("choose another name, such as CON_1.tif"), r.output
    assert list(usb.iterdir()) == []


def test_the_o_a_refusal_suggests_is_quoted_for_a_shell(tmp_path, rasters, monkeypatch):
    inp, usb = tmp_path / "fr", tmp_path / "My Maps"
    inp.mkdir()
    usb.mkdir()
    shutil.copy(rasters["gray"], inp / "CON.x.tif")
    shutil.copy(rasters["gray"], inp / "ok.tif")
    _mounted_as(monkeypatch, usb, "vfat")
    _no_model(monkeypatch)
    r = run("upscale", inp / "CON.x.tif", "-o", usb, *FAST)
    assert r.exit_code == 2, r.output
    assert f"instead of a folder (-o '{usb / 'CON_1.x_sr.tif'}')" in r.output, r.output


def test_a_spread_file_named_from_the_outputs_name_says_how_to_shorten_it(tmp_path, rasters, monkeypatch):
    _no_model(monkeypatch)
    out = tmp_path / ("z" * 246 + ".tif")
    r = run("upscale", rasters["gray"], "-o", out, *SPREAD)
    assert r.exit_code == 2, r.output
    assert (f"spread output name too long: {out.with_name(out.stem + '_spread.tif')} (257 bytes; the file system "
            "takes at most 255): choose a shorter -o name, or name the spread file with --spread-out") in r.output
    assert list(tmp_path.iterdir()) == []


def test_a_training_copy_named_from_out_says_to_shorten_out(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    out = tmp_path / ("w" * 236 + ".safetensors")
    r = run("train", data, "--out", out)
    assert r.exit_code == 2, r.output
    assert ("-after-fast.safetensors (259 bytes; the file system takes at most 255): choose a shorter --out"
            in r.output), r.output
