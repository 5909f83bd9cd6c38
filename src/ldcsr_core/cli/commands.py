"""The ``ldcsr`` command line: ``upscale``, ``info``, ``models``, ``convert`` (+ commands added later).

Each command goes parse → validate → engine → write, and imports torch, rasterio and dask lazily
so ``ldcsr --help`` stays quick. Bad input ends in a one-line ``Error: ...`` and the exit code of
its error class (:data:`EXIT_CODES`, documented in docs/cli.md), never a traceback (``-v`` shows
tracebacks of unexpected errors).

The names in :data:`LAZY_COMMANDS` (``train``, ``evaluate``) are click commands in other modules of
this package, imported only when invoked and listed only when their module exists.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import signal
import sys
import time
from pathlib import Path

import click

from . import options as opt

__all__ = ["main", "LAZY_COMMANDS", "EXIT_CODES", "exit_code_for", "as_click_error"]

log = logging.getLogger("ldcsr_core")

# name -> "module:attribute" of a click command, imported on first use.
LAZY_COMMANDS: dict[str, str] = {
    "train": "ldcsr_core.cli.train_cmd:train_command",
    "evaluate": "ldcsr_core.cli.train_cmd:evaluate_command",
}

# Exit status per error class (first match wins); 2 is click's usage error, 1 anything else.
EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_CODES: tuple[tuple[str, int], ...] = (
    ("InputError", 3),         # an input the engine cannot work with (raster, scale, bands)
    ("OutputExistsError", 4),  # the output exists and --overwrite was not given
    ("RasterIOError", 5),      # a file that cannot be read or written (also any other OSError)
    ("CheckpointError", 6),    # a model file that is not a usable LDCSR checkpoint
    ("ConfigError", 6),
    ("DeviceError", 7),        # the requested device (cuda, mps) is not available
    ("Cancelled", 130),        # Ctrl-C, SIGTERM (same code as a shell's SIGINT)
)


class LdcsrClickError(click.ClickException):
    """A one-line ``Error: ...`` with the exit status of the error class it came from."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR):
        super().__init__(message)
        self.exit_code = exit_code


def exit_code_for(e: BaseException) -> int:
    """The documented exit status for an exception (see :data:`EXIT_CODES`)."""
    from .. import errors

    if isinstance(e, KeyboardInterrupt):
        return 130
    for name, code in EXIT_CODES:
        if isinstance(e, getattr(errors, name)):
            return code
    if isinstance(e, OSError) or type(e).__module__.split(".")[0] == "rasterio":
        return 5
    return EXIT_ERROR


class LdcsrGroup(click.Group):
    """A click group with lazily imported commands and one-line errors instead of tracebacks."""

    def __init__(self, *args, lazy_commands: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands if lazy_commands is not None else {}

    def _lazy_available(self, name: str) -> bool:
        mod = self.lazy_commands[name].partition(":")[0]
        try:
            return importlib.util.find_spec(mod) is not None
        except (ImportError, ValueError):
            return False

    def list_commands(self, ctx):
        names = set(super().list_commands(ctx))
        names |= {n for n in self.lazy_commands if self._lazy_available(n)}
        return sorted(names)

    def get_command(self, ctx, name):
        cmd = super().get_command(ctx, name)
        if cmd is None and name in self.lazy_commands and self._lazy_available(name):
            mod, _, attr = self.lazy_commands[name].partition(":")
            cmd = getattr(importlib.import_module(mod), attr)
            self.add_command(cmd, name)
        return cmd

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: outputs were cleaned up on the way
            raise LdcsrClickError("interrupted; no partial output was left", 130) from None
        except Exception as e:  # engine errors, rasterio errors, OSError: one clean line
            raise as_click_error(e, verbose=(ctx.obj or {}).get("verbose", 0)) from None


def as_click_error(e: BaseException, verbose: int = 0) -> LdcsrClickError:
    """One-line :class:`LdcsrClickError` for ``e`` with its documented exit status."""
    from ..errors import LdcsrError, one_line

    msg = one_line(e)
    if verbose:
        import traceback

        traceback.print_exception(type(e), e, e.__traceback__, file=sys.stderr)
    if not isinstance(e, (LdcsrError, OSError, ValueError)) and type(e).__module__.split(".")[0] \
            not in ("rasterio",):
        msg = f"{type(e).__name__}: {msg} (run 'ldcsr -v ...' for the traceback)"
    return LdcsrClickError(msg, exit_code_for(e))


def _sigterm(signum, frame):  # turn SIGTERM into a clean unwind (temp files removed)
    raise KeyboardInterrupt


@click.group(cls=LdcsrGroup, lazy_commands=LAZY_COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="CPU threads for the engine (default: $LDCSR_THREADS, else auto: up to the "
                   "available cores, fewer while other processes keep them busy).")
@click.version_option(None, "--version", package_name="napari-ldcsr", prog_name="ldcsr")
@click.pass_context
def main(ctx, verbose, quiet, threads):
    """LDCSR continuous-scale super-resolution of remote-sensing rasters."""
    if threads:
        import torch

        from ..threads import set_threads
        set_threads(threads)  # wins over LDCSR_THREADS (see ldcsr_core.threads)
        torch.set_num_threads(threads)
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    ctx.obj["quiet"] = quiet
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # A picture without georeferencing is a valid input (its output gets none either): no
    # rasterio NotGeoreferencedWarning on stderr for it, from any open or write of the run.
    import warnings

    for m in ("Dataset has no geotransform", "The given matrix is equal to Affine.identity"):
        warnings.filterwarnings("ignore", message=m)
    try:
        signal.signal(signal.SIGTERM, _sigterm)
    except (ValueError, OSError):  # not in the main thread (e.g. some test runners)
        pass


# ---------------------------------------------------------------------------------------------
# upscale
# ---------------------------------------------------------------------------------------------


def _expand_inputs(inputs: tuple[Path, ...]) -> tuple[list[Path], bool]:
    """Files to process, and whether the request is a batch (folder or several files)."""
    from ..geo.raster_io import is_raster_name

    files: list[Path] = []
    batch = len(inputs) > 1
    for p in inputs:
        if p.is_dir():
            batch = True
            found = sorted(q for q in p.iterdir() if is_raster_name(q))
            if not found:
                raise click.BadParameter(f"no raster files (.tif, .png, .jp2, ...) in folder {p}",
                                         param_hint="'IN'")
            files.extend(found)
        elif p.exists():
            files.append(p)
        else:
            raise click.BadParameter(f"input not found: {p}", param_hint="'IN'")
    return files, batch


GEOTIFF_SUFFIXES = (".tif", ".tiff")


def _check_geotiff_name(path: Path, hint: str) -> None:
    if path.suffix.lower() not in GEOTIFF_SUFFIXES:
        raise click.BadParameter(
            f"{path} is not a GeoTIFF name: outputs are GeoTIFFs, so give a name ending in .tif or "
            ".tiff (or an existing folder)", param_hint=hint)


def _output_arg(raw: str, *, single: bool) -> Path:
    """``-o`` as given, checked before any work: not empty; a name ending in a separator must be
    an existing folder; a single output that is not a folder must be named as a GeoTIFF."""
    import os

    if not raw.strip():
        raise click.BadParameter("the output path is empty", param_hint="'-o'")
    path = Path(raw)
    seps = (os.sep, os.altsep) if os.altsep else (os.sep,)
    if raw.endswith(seps) and not path.is_dir():
        raise click.BadParameter(f"output folder does not exist: {raw}", param_hint="'-o'")
    if single and not path.is_dir():
        _check_geotiff_name(path, "'-o'")
    return path


def _output_name(src: Path) -> str:
    return f"{src.stem}_sr.tif"


def _plan_outputs(files: list[Path], batch: bool, output: Path, folders=()) -> list[tuple[Path, Path]]:
    from ..geo.raster_io import same_file

    for d in folders:  # outputs would become inputs of the next (resumed) run
        if same_file(d, output):
            raise click.BadParameter(f"output folder is the input folder: {output}",
                                     param_hint="'-o'")
    if batch or output.is_dir():
        if not output.is_dir():
            raise click.BadParameter(
                f"output folder does not exist: {output} (several inputs need an existing folder)",
                param_hint="'-o'")
        pairs = [(f, output / _output_name(f)) for f in files]
    else:
        if not output.parent.is_dir():
            raise click.BadParameter(f"output folder does not exist: {output.parent}",
                                     param_hint="'-o'")
        pairs = [(files[0], output)]
    seen: dict[Path, Path] = {}
    for src, dst in pairs:
        for other in files:
            if same_file(other, dst):
                raise click.BadParameter(f"output path is an input file: {dst}", param_hint="'-o'")
        key = dst.resolve()
        if key in seen:
            raise click.BadParameter(
                f"{seen[key].name} and {src.name} would both be written to {dst}", param_hint="'IN'")
        seen[key] = src
    return pairs


class _Bar:
    """tqdm progress per file (tiles, rate, ETA); silent when quiet."""

    def __init__(self, name: str, quiet: bool):
        self.name, self.quiet, self.bar = name, quiet, None

    def __call__(self, info) -> None:
        if self.quiet:
            return
        if self.bar is None:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=info.total, desc=self.name, unit="tile", dynamic_ncols=True,
                            file=sys.stderr, leave=True)
        self.bar.update(info.done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@main.command()
@click.argument("inputs", nargs=-1, required=True, metavar="IN...", type=click.Path(path_type=Path))
@click.option("-o", "--output", "output_arg", required=True, metavar="OUT",
              help="Output GeoTIFF (.tif/.tiff; one input) or existing folder (several inputs or a folder).")
@opt.scale_opt
@opt.target_resolution_opt
@opt.model_opt
@opt.mode_opt
@opt.seed_opt
@opt.tile_opt
@opt.device_opt
@opt.bands_opt
@opt.stretch_opt
@opt.compress_opt
@opt.overwrite_opt
@opt.dask_opt
@opt.samples_opt
@opt.spread_out_opt
@click.pass_context
def upscale(ctx, inputs, output_arg, scale, target_resolution, model_path, mode, seed, tile, device,
            bands, stretch, compress, overwrite, dask_address, samples=1, spread_out=None):
    """Super-resolve rasters IN... (files or folders) into tiled, compressed GeoTIFFs.

    \b
    Examples:
      ldcsr upscale scene.tif -o scene_x2.tif --scale 2
      ldcsr upscale tiles/ -o out/ --target-resolution 0.5 --mode fast
      ldcsr upscale s2.tif -o s2_sr.tif --scale 2.5 --bands 4,3,2 --dask local:4
      ldcsr upscale scene.tif -o scene_x4.tif --scale 4 --samples 4   # + scene_x4_spread.tif

    Outputs in a folder are named NAME_sr.tif. A batch is resumable: outputs that exist and are
    complete results of the same request are skipped. Inputs are never modified.
    """
    from ..errors import InputError, LdcsrError, OutputExistsError, RasterIOError, one_line
    from ..geo.pipeline import OutputOptions, UpscaleOptions, has_provenance
    from ..geo.raster_io import open_raster, raster_info
    from ..geo.radiometry import parse_bands

    quiet = ctx.obj.get("quiet", False)
    if (scale is None) == (target_resolution is None):
        raise click.UsageError("give exactly one of --scale or --target-resolution")
    try:
        band_sel = parse_bands(bands)
    except InputError as e:
        raise click.BadParameter(str(e), param_hint="'--bands'") from None
    if dask_address:
        from ..geo.distributed import parse_dask_address

        try:
            parse_dask_address(dask_address)
        except InputError as e:
            raise click.BadParameter(str(e), param_hint="'--dask'") from None
    files, batch = _expand_inputs(inputs)
    output = _output_arg(output_arg, single=not batch)
    if spread_out is not None:
        _check_geotiff_name(spread_out, "'--spread-out'")
    pairs = _plan_outputs(files, batch, output, [p for p in inputs if p.is_dir()])
    if samples > 1 and mode != "diffusion":
        raise click.BadParameter(f"--samples {samples} needs --mode diffusion: '{mode}' is deterministic, "
                                 "so every sample is the same image", param_hint="'--samples'")
    if spread_out is not None and samples < 2:
        raise click.BadParameter("needs --samples K > 1 (the spread of one sample is 0)",
                                 param_hint="'--spread-out'")
    if spread_out is not None and batch:
        raise click.BadParameter("names one file, so it needs a single input (in a batch each output "
                                 "NAME_sr.tif gets NAME_sr_spread.tif)", param_hint="'--spread-out'")

    # Validate every input (readable, non-empty, scale sensible) before loading the model.
    from ..geo.pipeline import plan_output

    req = {"scale": (scale[1], scale[0]) if scale else None,  # CLI is X,Y; engine is (sy, sx)
           "target_resolution": target_resolution}
    jobs = []
    for src, dst in pairs:
        try:
            with open_raster(src) as ds:
                info = raster_info(ds)
            shape, _ = plan_output(info, **req)
            if band_sel is not None:
                from ..geo.radiometry import plan_bands

                plan_bands(info.count, info.colorinterp, band_sel)
        except (InputError, RasterIOError) as e:
            if batch:
                jobs.append((src, dst, None, one_line(e)))
                continue
            raise
        if dst.exists() and not overwrite and not has_provenance(dst):
            raise OutputExistsError(f"output exists: {dst} (use --overwrite to replace it)")
        jobs.append((src, dst, shape, None))

    if all(err for *_, err in jobs):
        for src, _, _, err in jobs:
            click.echo(f"Error: {err}", err=True)
        raise click.ClickException("no input could be processed")

    up_opts = UpscaleOptions(mode=mode, seed=seed, tile=tile, bands=band_sel, stretch=stretch,
                             samples=samples)
    out_opts = OutputOptions(overwrite=overwrite, skip_complete=True, compress=compress)

    model = _load_model(model_path, device)
    results = []
    runner_cm = _runner(dask_address, model_path, device)
    with runner_cm as runner:
        for src, dst, shape, err in jobs:
            if err:
                results.append((src, dst, "failed", err, None))
                continue
            bar = _Bar(src.name, quiet)
            try:
                from ..geo.pipeline import upscale_raster

                res = upscale_raster(src, dst, model=model, options=up_opts, output=out_opts,
                                     runner=runner, callback=bar, spread_path=spread_out, **req)
            except (LdcsrError, OSError) as e:
                if not batch:
                    raise
                results.append((src, dst, "failed", one_line(e), None))
                continue
            finally:
                bar.close()
            results.append((src, dst, res.status, "", res))
    _summary(results, quiet)
    failed = [r for r in results if r[2] == "failed"]
    if failed:
        raise click.ClickException(f"{len(failed)} of {len(results)} inputs failed")


def _load_model(model_path, device):
    from .. import load_model

    model = load_model(model_path, device=device)
    log.info("model %s (sha256 %s) on %s", getattr(model, "name", "?"),
             getattr(model, "weights_sha256", "?"), device)
    return model


def _runner(dask_address, model_path, device):
    import contextlib

    if not dask_address:
        return contextlib.nullcontext(None)
    from ..geo.distributed import ModelSource, dask_runner

    # Workers run on their own machines: 'auto' is resolved there.
    src = ModelSource(path=str(model_path) if model_path else None, device=device)
    return dask_runner(dask_address, src)


def _summary(results, quiet: bool) -> None:
    if quiet:
        return
    written = sum(1 for r in results if r[2] == "written")
    skipped = sum(1 for r in results if r[2] == "skipped")
    failed = sum(1 for r in results if r[2] == "failed")
    for src, dst, status, err, res in results:
        if res is not None and status == "written":
            (h, w), (H, W) = res.in_shape, res.out_shape
            extra = (f"{w}x{h} -> {W}x{H}, {res.tiles} tiles"
                     + (f" ({res.skipped_tiles} empty)" if res.skipped_tiles else "")
                     + f", {res.seconds:.1f} s, {res.megapixels_per_s:.2f} MP/s"
                     + (f", spread -> {res.spread}" if res.spread else ""))
        elif status == "skipped":
            extra = "complete output already there"
        else:
            extra = err
        click.echo(f"{status:8s} {src} -> {dst}: {extra}", err=True)
    click.echo(f"{len(results)} inputs: {written} written, {skipped} skipped, {failed} failed",
               err=True)


# ---------------------------------------------------------------------------------------------
# info
# ---------------------------------------------------------------------------------------------


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@opt.scale_opt
@opt.target_resolution_opt
@opt.bands_opt
@click.option("-o", "--output", "output", default=None, type=click.Path(path_type=Path),
              metavar="OUT", help="Where the output would go (for its free space; default: FILE's folder).")
def info(file, scale, target_resolution, bands, output):
    """Describe FILE and what `ldcsr upscale` would make of it (default: --scale 2)."""
    from ..errors import InputError
    from ..geo.raster_io import georeferencing, open_raster, output_profile, raster_info
    from ..geo.radiometry import plan_bands
    from ..geo.pipeline import plan_output
    from ..threads import describe

    if not file.exists():  # as `upscale` says it: a usage error (2), not an I/O error (5)
        raise click.BadParameter(f"input not found: {file}", param_hint="'FILE'")
    with open_raster(file) as ds:
        i = raster_info(ds)
        click.echo(f"file:        {file}")
        click.echo(f"driver:      {getattr(ds, 'source_driver', i.driver)}")
        if getattr(ds, "palette_expanded", None):
            click.echo(f"palette:     a colour table; expanded to {ds.palette_expanded} for the model "
                       f"(the output is {ds.palette_expanded}, not class indices)")
        georef = georeferencing(ds)
        if georef != "transform":
            click.echo("georef:      " + ("ground control points only (carried over, scaled)"
                                          if georef == "gcps" else
                                          "none (the output gets none either)"))
        click.echo(f"size:        {i.width} x {i.height} px, {i.count} band(s), {i.dtype}")
        click.echo(f"crs:         {i.crs or 'none'}")
        unit = i.units or "units"
        click.echo(f"pixel size:  {i.res[0]:.6g} x {i.res[1]:.6g} {unit}")
        click.echo(f"bounds:      {', '.join(f'{b:.6f}' for b in i.bounds)}")
        click.echo(f"nodata:      {i.nodata}")
        click.echo(f"colour:      {', '.join(i.colorinterp)}")
        if any(i.descriptions):
            click.echo(f"bands:       {', '.join(d or '-' for d in i.descriptions)}")
        bp = plan_bands(i.count, i.colorinterp, bands)
        groups = " ".join("(" + ",".join(str(b + 1) for b in g) + ")" for g in bp.groups)
        alpha = f"; alpha/mask band(s): {', '.join(str(a + 1) for a in bp.alpha)}" if bp.alpha else ""
        click.echo(f"model input: triplets {groups}{alpha}")
        click.echo(f"threads:     {describe(spin=True)}")
        req = {"scale": (scale[1], scale[0]) if scale else None,
               "target_resolution": target_resolution}
        if scale is None and target_resolution is None:
            req["scale"] = 2.0
        try:
            (H, W), (sy, sx) = plan_output(i, **req)
        except InputError as e:
            click.echo(f"output:      not possible: {e}")
            return
        prof = output_profile(ds, (H, W))
        size = H * W * i.count * _itemsize(i.dtype)
        click.echo(f"output:      {W} x {H} px (x{sx:.6g} x, x{sy:.6g} y), "
                   f"pixel {i.res[0] / sx:.6g} x {i.res[1] / sy:.6g} {unit}, {i.dtype}, "
                   f"{size / 2**30:.2f} GiB uncompressed"
                   + (", BigTIFF" if prof["bigtiff"] == "YES" else ""))
        _echo_free_space(output, file, size)


def _echo_free_space(output: Path | None, file: Path, size: int) -> None:
    from ..geo.geotiff_writer import BEST_COMPRESSION, free_bytes, human_bytes

    dest = output if output is not None and output.is_dir() else (
        output.parent if output is not None else file.parent)
    free = free_bytes(dest if str(dest) else ".")
    if free is None:
        click.echo(f"destination: {dest}: free space unknown")
        return
    verdict = ("fits uncompressed" if size <= free else
               "fits only if it compresses well" if size / BEST_COMPRESSION <= free else
               f"does not fit even at {BEST_COMPRESSION:g}:1 compression: upscale would refuse")
    click.echo(f"destination: {dest.resolve()}: {human_bytes(free)} free ({verdict})")


def _itemsize(dtype: str) -> int:
    import numpy as np

    return np.dtype(dtype).itemsize


# ---------------------------------------------------------------------------------------------
# models, convert
# ---------------------------------------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def models(paths):
    """List the built-in model and the checkpoints PATHS...: name, config, size, SHA-256."""
    from ..checkpoints import default_model_path

    default = default_model_path()
    builtin = default.parent
    files = sorted(builtin.glob("*.safetensors")) if builtin.is_dir() else []
    if not files and not paths:
        click.echo("no built-in model is installed; pass checkpoint paths to describe them")
    for p in files:
        _describe_model(p, builtin=True, default=p.name == default.name)
    for p in paths:
        _describe_model(p, builtin=False)


def _describe_model(path: Path, *, builtin: bool, default: bool = False) -> None:
    """Read what is known of the checkpoint first (refusing a non-checkpoint with a one-line
    :class:`CheckpointError`, before hashing it: ``/dev/zero`` never ends), then print it."""
    import json

    from ..checkpoints import check_checkpoint_file
    from ..errors import CheckpointError, one_line
    from ..files import sha256_file

    check_checkpoint_file(path)  # a regular file in a checkpoint format
    lines = []
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="numpy") as f:
                meta = f.metadata() or {}
                n = 0
                for k in f.keys():
                    shape = f.get_slice(k).get_shape()
                    c = 1
                    for s in shape:
                        c *= s
                    n += c
        except Exception as e:  # safetensors raises its own error types
            raise CheckpointError(f"{path} is not a readable safetensors file: {one_line(e)}") from None
        lines.append(f"  name:    {meta.get('name', '-')} {meta.get('version', '')}".rstrip())
        lines.append(f"  params:  {n / 1e6:.2f} M")
        if meta.get("notes"):
            lines.append(f"  notes:   {meta['notes']}")
        if meta.get("config"):
            cfg = json.loads(meta["config"])
            lines.append(f"  config:  {_config_summary(cfg)}")
    else:
        from .. import load_model

        m = load_model(path, device="cpu")
        n = sum(p.numel() for p in m.parameters())
        lines.append(f"  name:    {m.name} {m.version}")
        lines.append(f"  params:  {n / 1e6:.2f} M")
        lines.append(f"  config:  {_config_summary(m.config.to_dict())}")
    size = path.stat().st_size
    tag = "  [built-in, default]" if default else "  [built-in]" if builtin else ""
    click.echo(f"{path.name}{tag}")
    if builtin:
        click.echo(f"  load:    --model {path.stem}{' (or no --model)' if default else ''}")
    click.echo(f"  path:    {path}")
    click.echo(f"  size:    {size / 2**20:.1f} MiB")
    click.echo(f"  sha256:  {sha256_file(path)}")
    for line in lines:
        click.echo(line)


def _config_summary(cfg: dict) -> str:
    d, u = cfg.get("decoder", {}), cfg.get("unet", {})
    return (f"decoder ch {d.get('ch')} x{tuple(d.get('ch_mult', ()))}, "
            f"unet ch {u.get('model_channels')} x{tuple(u.get('channel_mult', ()))}")


@main.command()
@click.argument("ckpt", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", default=None, help="Model name stored in the file (default: CKPT's stem).")
@opt.overwrite_opt
def convert(ckpt, out, name, overwrite):
    """Convert an official Lightning CKPT into the ldcsr .safetensors format OUT."""
    from ..geo.raster_io import same_file

    if same_file(ckpt, out):
        raise click.BadParameter("OUT is CKPT itself", param_hint="'OUT'")
    if not out.parent.is_dir():
        raise click.BadParameter(f"output folder does not exist: {out.parent}", param_hint="'OUT'")
    if out.exists() and not overwrite:
        from ..errors import OutputExistsError

        raise OutputExistsError(f"output exists: {out} (use --overwrite to replace it)")
    from ..checkpoints import convert_checkpoint

    t0 = time.perf_counter()
    dst = convert_checkpoint(ckpt, out, name=name)
    click.echo(f"wrote {dst} ({Path(dst).stat().st_size / 2**20:.1f} MiB) in "
               f"{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":  # pragma: no cover
    main()
