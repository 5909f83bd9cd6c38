"""``ldcsr info``: a raster and what ``ldcsr upscale`` would make of it (its size, bands, the model's
input, the output and its room), or, for a spread map, what the map is."""

from __future__ import annotations

import os
from pathlib import Path

import click

from . import options as opt
from ..words import counted, noun, path_said

__all__ = ["info"]


@click.command()
@click.argument("file", type=opt.InputPathType())
@opt.scale_opt
@opt.target_resolution_opt
@opt.bands_opt
@opt.stretch_opt
@opt.nodata_opt
@opt.model_opt
@opt.mode_opt
@click.option("-o", "--output", "output", default=None, type=click.Path(path_type=Path),
              metavar="OUT", help="Where the output would go (for its free space; default: FILE's folder).")
def info(file, scale, target_resolution, bands, stretch, nodata, model_path, mode, output):
    """Describe FILE and what `ldcsr upscale` would make of it (default: --scale 2); with --model,
    what an adapted model was adapted on and whether this use goes beyond it."""
    if opt.missing_input(file):  # as `upscale` says it: a usage error (2), not an I/O error (5)
        raise click.BadParameter(f"input not found: {path_said(file)}", param_hint="'FILE'")
    if scale is not None and target_resolution is not None:  # as upscale refuses them
        raise click.UsageError("give at most one of --scale or --target-resolution")
    # Every line is made before the first is printed: an error on the way (a bad LDCSR_THREADS or
    # LDCSR_DTYPE, a --bands the file lacks, an unreadable --model) comes alone, one line.
    click.echo("\n".join(_describe(file, scale, target_resolution, bands, stretch, nodata, model_path, mode,
                                   output)))


def _nodata_line(ds, declared) -> str:
    """What upscale treats as nodata on ``ds`` (open_raster's, with --nodata or not) and, when that
    is more than one value, the one the output declares: '0.0', '0.0..5.0; the output declares
    0.0 (--nodata; the file declares none)', 'band 1: none; band 2: 0.0; ... (the file's, by band)';
    with the NaN a float output of none declares: 'none (the output declares nan: ...)'."""
    from ..geo.nodata_masks import output_nodata
    from ..geo.nodata_override import nodata_text

    out = output_nodata(declared, ds.dtypes[0])  # a float output of none declares NaN
    nan = "" if out is declared else f"; the output declares {nodata_text(out)}: its invalid pixels are NaN"
    bands = getattr(ds, "band_nodata", None)
    if bands is None:  # the file's one value, or none
        return nodata_text(declared) + (f" ({nan[2:]})" if nan else "")
    values = dict(enumerate(bands, 1)) if len(set(bands)) > 1 else bands[0]
    plain = not isinstance(values, dict) and all(isinstance(v, float) for v in values) and len(values) <= 1
    line = nodata_text(declared) if plain else nodata_text(values)
    written = "" if plain else f"; the output declares {nodata_text(declared)} and writes it on each band's nodata pixels"
    if not ds.nodata_given:
        return f"{line} (the file's, by band{written})"
    file = ds.file_dataset.nodatavals
    file = "none" if all(v is None for v in file) else nodata_text(
        file[0] if len(set(map(repr, file))) == 1 else {b: (v,) if v is not None else () for b, v in enumerate(file, 1)})
    return f"{line} (--nodata; the file declares {file}{written}{nan})"


def _check_sources(ds, file: Path) -> None:
    """:class:`RasterIOError` (exit 5) for a file ``ds`` reads that is not there (a VRT's moved source),
    in the words upscale's first read of it fails with; no pixel is read. A name GDAL lists that is
    no file (a URL, ``https://.../x.tif``; a dataset name, ``vrt://src.tif?bands=1``,
    ``GTIFF_DIR:2:f.tif``, :func:`~ldcsr_core.geo.raster_io.virtual_path`, on the name as GDAL gives it:
    ``Path`` folds ``vrt://`` to ``vrt:/``) is left to the read."""
    import errno

    from ..errors import RasterIOError
    from ..geo.raster_io import virtual_path

    for f in getattr(ds, "files", None) or ():
        if not os.path.exists(f) and "://" not in f and virtual_path(f) is None:
            raise RasterIOError(errno.ENOENT, f"cannot read {file.name}: {f}: No such file or directory")


def _describe(file, scale, target_resolution, bands, stretch, nodata, model_path, mode, output) -> list[str]:
    """``ldcsr info``'s lines for FILE."""
    from ..errors import InputError
    from ..geo.geotiff_writer import human_bytes, output_nbytes
    from ..geo.nodata_words import mask_text
    from ..geo.raster_io import georeferencing, open_raster, output_profile, raster_info, source_rpcs
    from ..geo.radiometry import band_holder, plan_bands
    from ..geo.pipeline import plan_output, request_of
    from ..devices import resolve_device
    from ..precision import describe as describe_dtype
    from ..threads import describe

    lines: list[str] = []
    say = lines.append
    with open_raster(file, nodata=nodata) as ds:  # --nodata: as upscale would read and write it
        _check_sources(ds, file)
        i = raster_info(ds)
        say(f"file:        {file}")
        say(f"driver:      {getattr(ds, 'source_driver', i.driver)}")
        if getattr(ds, "palette_expanded", None):
            say(f"palette:     a colour table; expanded to {ds.palette_expanded} for the model "
                f"(the output is {ds.palette_expanded}, not class indices)")
        from ..geo.tile_run import pages_note

        pages = pages_note(ds, file.name)
        if pages:
            say(f"pages:       {pages}")
        georef = georeferencing(ds)
        if georef != "transform":
            say("georef:      " + {
                "gcps": "ground control points only (carried over, scaled)",
                "rpcs": "rational polynomial coefficients (RPCs) only (carried over, moved onto the output grid)",
                "singular": "a singular geotransform (it places no grid; see output)",
            }.get(georef, "none (the output gets none either)"))
        elif source_rpcs(ds) is not None:
            say("rpcs:        rational polynomial coefficients too (carried over, moved onto the output grid)")
        from ..geo.job import is_spread_map, provenance_summary

        made = provenance_summary(ds.tags())
        if made:  # an LDCSR output: its pixels are not measurements
            say(f"provenance:  {made}")
        from ..geo.sidecars import set_aside_files

        for kept in set_aside_files(file):  # as the write that kept each one warned
            say(f"set aside:   {kept.name} (a sidecar a write kept aside: rename it to "
                f"{kept.name.rsplit('.set-aside', 1)[0]} to use it instead, or remove it)")
        say(f"size:        {i.width} x {i.height} px, {counted(i.count, 'band')}, {i.dtype}")
        gcp_crs = ds.gcps[1] if georef == "gcps" else None  # the CRS of the points, carried to the output
        say(f"crs:         {gcp_crs.to_string() + ' (of its ground control points)' if gcp_crs else i.crs or 'none'}")
        unit = i.units or "units"
        placed = i.placed  # else no pixel size: not the identity's 1 x 1
        unknown = "unknown (singular geotransform)" if georef == "singular" else "unknown (no geotransform)"
        say("pixel size:  " + (f"{i.res[0]:.6g} x {i.res[1]:.6g} {unit}" if placed else unknown))
        say("bounds:      " + (", ".join(f"{b:.6f}" for b in i.bounds) + " (west, south, east, north)"
                               if placed else unknown))
        say(f"nodata:      {_nodata_line(ds, i.nodata)}" + (f", {mask}" if (mask := mask_text(i)) else ""))
        spread = is_spread_map(i.tags)  # upscale's rule (--samples K's, napari's saved): values, not a picture
        say(f"colour:      {', '.join(i.colorinterp)}"
            + (" (GeoTIFF's defaults: each band is a spread, no colour)" if spread else ""))
        if any(i.descriptions):
            say(f"bands:       {', '.join(d or '-' for d in i.descriptions)}")
        if spread:
            source = f" ({i.tags['LDCSR_SOURCE']})" if i.tags.get("LDCSR_SOURCE") else ""
            say("spread map:  each band the spread of the band it names, in its units (above: what it is); values, "
                f"not a picture to upscale: upscale its output's source{source}")
            return lines
        bp = plan_bands(i.count, i.colorinterp, bands, i.descriptions, band_holder(ds))
        groups = " ".join("(" + ",".join(str(b + 1) for b in g) + ")" for g in bp.groups)
        alpha = f"; alpha/mask {noun(len(bp.alpha), 'band')}: {', '.join(str(a + 1) for a in bp.alpha)}" if bp.alpha else ""
        say(f"model input: triplets {groups}{alpha}")
        say(f"threads:     {describe(spin=True)}")
        dev = resolve_device("auto")  # where upscale's default --device runs, and auto's type there
        where = {"cuda": "CUDA", "mps": "Apple MPS"}.get(dev.type, "the CPU")
        say(f"compute:     {describe_dtype(dev)} on {where} (--device, --dtype or LDCSR_DTYPE to choose)")
        # the engine's one rule for a request, as upscale asks it (CLI is X,Y, engine is (sy, sx))
        req = request_of(scale=(scale[1], scale[0]) if scale else (None if target_resolution else 2.0),
                         target_resolution=target_resolution)
        try:
            (H, W), (sy, sx) = plan_output(i, **req)
        except InputError as e:
            say(f"output:      not possible: {e}")
            return lines
        prof = output_profile(ds, (H, W))
        size = output_nbytes(prof, mask=i.has_dataset_mask)  # what upscale writes (its padded tiles, mask)
        say(f"output:      {W} x {H} px (x{sx:.6g} x, x{sy:.6g} y), "
            + (f"pixel {i.res[0] / sx:.6g} x {i.res[1] / sy:.6g} {unit}, " if placed else "")
            + f"{i.dtype}, "
            f"{human_bytes(size)} uncompressed"
            + (", BigTIFF" if prof["bigtiff"] == "YES" else ""))
        if model_path is not None:
            _echo_adapted(say, model_path, i, req, bands, stretch, mode)
        _echo_free_space(say, output, file, size)
    return lines


def _echo_adapted(say, model_path, info, req: dict, bands, stretch: str, mode: str) -> None:
    """What ``--model`` was adapted on, and ``upscale``'s note for this file if the use goes beyond it."""
    from ..adapted_use import adapted_check, outside_use, reading_of
    from ..checkpoints import check_finite_file, check_model_file
    from ..builtin_models import model_path as resolve

    path = check_model_file(resolve(model_path))  # one that is none: exit 6, as upscale refuses it
    check_finite_file(path)  # NaN or inf weights: refused as upscale refuses it (it was said to be fine)
    checked = adapted_check(path)
    if checked is None:
        from ..official_checkpoint import builtin_twin_file

        twin = builtin_twin_file(path)  # loaded as that built-in model, by name too
        copy = f"a copy of the built-in {twin} (its tensors without its metadata); " if twin else ""
        say(f"model:       {model_path}: {copy}not an adapted model")
        return
    read = checked.reading.text() or "bands and stretch not recorded"
    say(f"model:       {model_path}: adapted and checked at ×{checked.scale:g} in fast mode, on {read}")
    if "scale" in req:
        scales = req["scale"]
    else:
        from ..geo.georef import scale_for_resolution

        scales = scale_for_resolution(info, req["target_resolution"])
    note = outside_use(checked, scales, mode, reading_of(info.count, info.colorinterp, bands, stretch, info.dtype, info.descriptions))
    if note:
        say(f"note:        {note}")


def _echo_free_space(say, output: Path | None, file: Path, size: int) -> None:
    from ..errors import RasterIOError
    from ..files import check_name_length, check_writable
    from ..geo.geotiff_writer import BEST_COMPRESSION, free_bytes, human_bytes

    if output is not None:
        try:
            check_name_length(output)  # before is_dir(), which would fail in errno's words
        except RasterIOError as e:
            say(f"destination: {e} (upscale would refuse)")
            return
    dest = output if output is not None and output.is_dir() else (
        output.parent if output is not None else file.parent)
    if str(dest) and not dest.is_dir():
        say(f"destination: {dest}: folder does not exist (upscale would refuse)")
        return
    try:
        check_writable(dest if str(dest) else ".")  # upscale's rule (permissions, a read-only disk)
    except RasterIOError:
        say(f"destination: {dest}: folder is not writable (upscale would refuse)")
        return
    free = free_bytes(dest if str(dest) else ".")
    if free is None:
        say(f"destination: {dest}: free space unknown")
        return
    verdict = ("fits uncompressed" if size <= free else
               "fits only if it compresses well" if size / BEST_COMPRESSION <= free else
               f"does not fit even at {BEST_COMPRESSION:g}:1 compression: upscale would refuse")
    say(f"destination: {dest.resolve()}: {human_bytes(free)} free ({verdict})")
