"""The advice of a refused ``--bands`` names bands the file can take: its colour bands, not its alpha band,
and one band as such."""

from __future__ import annotations

import shutil

from .test_batch_outputs import FAST, run


def test_the_bands_advised_are_ones_the_file_takes(rasters, tiny_model_file, tmp_path):
    """Before: an RGBA file with --bands 4,3,2 said '(give --bands among 1..4, or leave it out)', band 4 its
    alpha, refused again; a one-band file with --bands 2, '(give --bands among 1..1, ...)'."""
    rgba, gray = tmp_path / "rgba.tif", tmp_path / "gray.tif"
    shutil.copy(rasters["rgba"], rgba)
    shutil.copy(rasters["gray"], gray)
    for src, bands, advice in ((rgba, "4,3,2", "give --bands among 1..3, or leave it out"),
                               (gray, "2", "give --bands 1, or leave it out")):
        r = run("upscale", src, "-o", tmp_path / f"{src.stem}_sr.tif", *FAST, "--model", tiny_model_file, "--bands", bands)
        assert r.exit_code == 3 and r.output.strip().endswith(f"({advice})"), r.output
    r = run("upscale", rgba, "-o", tmp_path / "rgba_sr.tif", *FAST, "--model", tiny_model_file, "--bands", "3,2,1")
    assert r.exit_code == 0, r.output  # as advised
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(rasters["rgba"], folder / "a.tif")
    shutil.copy(rasters["gray"], folder / "b.tif")
    out = tmp_path / "out"
    out.mkdir()
    r = run("upscale", folder, "-o", out, *FAST, "--model", tiny_model_file, "--bands", "4")
    said = " ".join(r.output.split())
    assert r.exit_code == 1, r.output
    assert ("band 4 is an alpha band (a mask), it cannot be a colour band (--bands applies to every input: run the "
            "files of 4 bands in a command of their own, with bands among 1..3 or without --bands)") in said, r.output
    assert ("band 4 does not exist: the file has bands 1..1 (--bands applies to every input: run the files of 1 "
            "band in a command of their own, with band 1 or without --bands)") in said, r.output


def test_a_palette_files_bands_are_said_to_be_its_palettes(tiny_model_file, tmp_path):
    """A one-band file of colour indices is read through its colour table as RGB. Before, --bands 5 said
    'band 5 does not exist: the file has bands 1..3' of a file of one band (upscale alone and in a batch, info,
    selfcheck); now its palette gives them."""
    from .test_cli_matrix_inputs import make_palette

    src = make_palette(tmp_path)
    said = "band 5 does not exist: the file is one band of colour indices, its palette gives bands 1..3"
    for args in (("upscale", src, "-o", tmp_path / "c_sr.tif", *FAST), ("info", src),
                 ("selfcheck", src, "-s", "2", "--mode", "fast")):
        r = run(*args, "--model", tiny_model_file, "--bands", "5") if args[0] != "info" else run(*args, "--bands", "5")
        assert r.exit_code == 3 and said in r.output and "the file has bands" not in r.output, r.output
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    out.mkdir()
    make_palette(folder)
    r = run("upscale", folder, "-o", out, *FAST, "--model", tiny_model_file, "--bands", "5")  # a batch's line
    assert r.exit_code == 1 and said in " ".join(r.output.split()), r.output


def test_a_batch_advises_running_the_palette_files_apart_as_such(rasters, tiny_model_file, tmp_path):
    """A one-band file of colour indices in a folder run with --bands its palette lacks. Before, its line advised
    'run the files of 3 bands in a command of their own': it has one band on disk, and beside an RGB file of 3
    bands that advice put the two in one command again. Now it names the files of colour indices."""
    from .test_cli_matrix_inputs import make_palette

    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    out.mkdir()
    palette = make_palette(folder)
    shutil.copy(rasters["float32_nan"], folder / "rgb.tif")  # 3 bands
    r = run("upscale", folder, "-o", out, *FAST, "--model", tiny_model_file, "--bands", "5")
    said = " ".join(r.output.split())
    assert r.exit_code == 1, r.output
    assert (f"{palette.name} -> {out / 'classes_sr.tif'}: band 5 does not exist: the file is one band of colour "
            "indices, its palette gives bands 1..3 (--bands applies to every input: run the files of colour indices, "
            "whose palettes give 3 bands, in a command of their own, with bands among 1..3 or without --bands)") in said, \
        r.output
    assert ("rgb_sr.tif: band 5 does not exist: the file has bands 1..3 (--bands applies to every input: run the "
            "files of 3 bands in a command of their own") in said, r.output
    r = run("upscale", palette, "-o", out / "classes_sr.tif", *FAST, "--model", tiny_model_file, "--bands", "1,2,3")
    assert r.exit_code == 0, r.output  # as advised
