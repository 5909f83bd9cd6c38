"""Shared click options and parameter types of the ``ldcsr`` command line (cf. ``rasterio.rio.options``).

Commands added from other modules (``ldcsr train``, ``ldcsr evaluate``) reuse these objects so the
same flag means the same thing everywhere.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import click

from ..rules import (MAX_SAMPLES, MAX_SCALE, MIN_TILE_IN, MODES, STRETCHES, check_samples, check_seed,
                     check_training_range, check_training_seed, comma_parts, number_text)

__all__ = [
    "PairType", "WholeType", "SeedType", "TrainingSeedType", "SamplesType", "ScaleType", "ScaleListType", "ModelType", "DeviceType", "WeightsFileType", "OutputFileType", "ReportPathType", "names_a_folder", "scale_opt", "target_resolution_opt", "model_opt", "mode_opt", "seed_opt",
    "tile_opt", "device_opt", "bands_opt", "overwrite_opt", "dask_opt", "stretch_opt",
    "compress_opt", "dtype_opt", "nodata_opt", "model_run_opts", "report_overwrite_opt", "model_file", "check_report",
    "InputPathType", "missing_input", "CheckpointPathType", "ImagesType",
]



class PairType(click.ParamType):
    """``"2"`` or ``"2,3"`` → one positive float or an ``(x, y)`` pair, validated up front."""

    name = "X[,Y]"

    def __init__(self, what: str, *, minimum: float = 0.0, maximum: float = math.inf,
                 exclusive_min: bool = True):
        self.what = what
        self.minimum = minimum
        self.maximum = maximum
        self.exclusive_min = exclusive_min

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        # blanks around a number or comma; not inside one: '1 .5' (a typo of 1.5 or 1) and -r '1 0' were read 1.5, 10
        parts = comma_parts(value)  # ('２．５，３' too, as an input method types it)
        if len(parts) not in (1, 2) or not all(parts):
            self.fail(f"{self.what} must be one number or 'X,Y', got {value!r}", param, ctx)
        try:
            vals = tuple(number_text(p) for p in parts)  # 1.2_5: no number (float's 1.25)
        except ValueError:
            self.fail(f"{self.what} must be a number, got {value!r}", param, ctx)
        for v in vals:
            if not math.isfinite(v):
                self.fail(f"{self.what} must be a finite number, got {value!r}", param, ctx)
            too_low = v <= self.minimum if self.exclusive_min else v < self.minimum
            if not math.isfinite(v) or too_low or v > self.maximum:
                lo = "> " if self.exclusive_min else ">= "
                rng = f"{lo}{self.minimum:g}" + (
                    f" and <= {self.maximum:g}" if math.isfinite(self.maximum) else "")
                self.fail(f"{self.what} must be {rng}, got {value!r}", param, ctx)
        return vals if len(vals) == 2 else (vals[0], vals[0])


class ScaleType(PairType):
    """One scale (``selfcheck``/``adapt --scale``, ``train --scale-range``): > 1 and <= MAX_SCALE, in
    :class:`PairType`'s rule and words (``scale must be a number, got '1.2_5'``), one number, not 'X,Y'."""

    name = "FLOAT"

    def __init__(self):
        super().__init__("scale", minimum=1.0, maximum=MAX_SCALE)

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):  # a default
            return float(value)
        if len(comma_parts(value)) > 1 or not str(value).strip():  # not PairType's "one number or 'X,Y'": no pair here
            self.fail(f"scale must be one number, got {value!r}", param, ctx)
        return super().convert(value, param, ctx)[0]


class ScaleListType(click.ParamType):
    """``"2,2.5,4"`` → a list of scales (``evaluate --scales``), each checked as ``--scale`` checks
    one (:class:`PairType`'s rule and words); an empty list or an empty entry (``2,,4``) is refused."""

    name = "S[,S...]"

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        parts = comma_parts(value)  # as PairType: no blank inside a number
        if not all(parts):
            self.fail(f"scales must be numbers separated by commas, e.g. 2,2.5,4, got {value!r}", param, ctx)
        return [ScaleType().convert(p, param, ctx) for p in parts]


class WholeType(click.ParamType):
    """A whole number as ``int`` reads it (text past Python's 4300 digits too, which ``int`` refuses), or in another
    notation as QGIS's whole-number fields read it ('1e3', '7.0': :meth:`read`), then checked by the
    engine's rule (:meth:`rule`), its words click's usage error: one rule, as QGIS's and napari's."""

    name = "integer"

    def rule(self, value: int, param):
        return value

    def what(self, param) -> str:
        """The value's name in the engine's words where it is no whole number ('seed must be a whole number')."""
        return param.opts[0] if param is not None else "value"

    def convert(self, value, param, ctx):
        from ..errors import InputError

        try:
            return self.rule(value if isinstance(value, int) else self.read(value, param, ctx), param)
        except InputError as e:
            self.fail(str(e), param, ctx)

    def read(self, text, param, ctx) -> int:
        """``text`` as ``int`` reads it, past its 4300 digits too, or in another notation QGIS's whole-number fields
        take (``whole_numbers.whole_text``: '1e3', '7.0'), refused in the same words where it is none ('1.5': 'seed
        must be a whole number'; before, '1e3' and '7.0' were 'not a valid integer' here, taken by QGIS)."""
        from decimal import Decimal

        from ..whole_numbers import GROUPED_DIGITS, check_whole_size, whole_text

        try:
            return int(text)
        except ValueError:
            pass
        if GROUPED_DIGITS.fullmatch(text):  # past int's 4300 digits: the rule says its size, short
            return int(Decimal(text.strip()))
        try:
            number = whole_text(text)
        except (ValueError, ArithmeticError):  # (Decimal's InvalidOperation)
            self.fail(f"{text!r} is not a valid integer.", param, ctx)
        self.check_read(number)
        return check_whole_size(number, self.what(param), text)

    def check_read(self, number) -> None:
        """A rule :meth:`rule` would say of ``number`` (a ``Decimal`` read from another notation), said before the size
        limit every whole number has where it is the rule's to say ('1e5000' for a training seed: its range)."""


class SeedType(WholeType):
    """``--seed``: of the size every front end takes (``rules.check_seed``: below 2**4096, as QGIS's SEED; Python's
    limit of 4300 digits refused a longer one otherwise, in full)."""

    def rule(self, value, param):
        return check_seed(value)

    def what(self, param) -> str:
        return "seed"


class TrainingSeedType(WholeType):
    """``ldcsr train``'s and ``adapt``'s ``--seed``: one torch's generators take (``rules.check_training_seed``)."""

    def rule(self, value, param):
        return check_training_seed(value)

    def check_read(self, number) -> None:
        if number.is_finite() and number == number.to_integral_value():  # (else not whole: 'seed must be a whole …')
            check_training_range(number)

    def what(self, param) -> str:
        return "seed"


class SamplesType(WholeType):
    """``--samples``, ``--mean-of``: 1 to ``MAX_SAMPLES`` (``rules.check_samples``, as QGIS's SAMPLES: a number past
    it said short, not its hundreds of digits)."""

    def rule(self, value, param):
        return check_samples(value, name=param.opts[0] if param is not None else "samples")


def missing_input(path: Path) -> bool:
    """Nothing at the input ``path``: a usage error (exit 2, 'input not found'). A link there that
    leads nowhere (broken, a loop) is left to the engine's reading, which says so in one line (exit
    5, as of such a link in a folder of inputs): 'input is a broken link: in.tif -> gone.tif (not
    found)', 'input is a link that leads back to itself (a loop): ...'."""
    return not path.exists() and not path.is_symlink()


class InputPathType(click.Path):
    """A raster to read (``upscale IN...``, ``info FILE``, ``selfcheck``/``adapt SCENE``): an empty
    one is a usage error naming it, as ``-o ""`` is (as a path it is the current folder: 'input is a
    folder: .', or for ``upscale`` every raster there), and so is a name GDAL opens that is no file
    (``/vsizip/...``, a subdataset: :func:`~ldcsr_core.geo.raster_io.virtual_path`, said as given)."""

    def __init__(self):
        super().__init__(path_type=Path, readable=False)

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value:
            self.fail("the input path is empty", param, ctx)
        from ..geo.raster_io import virtual_path

        virtual = virtual_path(value)
        if virtual is not None:  # else 'input not found'
            self.fail(virtual, param, ctx)
        return super().convert(value, param, ctx)


def names_a_folder(raw: str) -> bool:
    """Whether a path as typed names a folder by its form, whatever is there: it ends in a folder
    separator (``out/sub/``; ``\\`` too on Windows) or in a ``.`` or ``..`` part (``out/sub/.``, which
    pathlib reads as ``out/sub``): one rule for ``-o`` and the report options."""
    last = raw
    for sep in filter(None, (os.sep, os.altsep)):
        last = last.rsplit(sep, 1)[-1]
    return bool(raw) and last in ("", ".", "..")


class OutputFileType(click.Path):
    """A file to write (``--json``, ``--spread-out``, ``adapt -o``, ``convert OUT``, ``train --out``,
    ``--checkpoint``, ``--log``): a name of a folder by its form (:func:`names_a_folder`: ``out/sub/``,
    ``out/sub/.``) is refused, exit 2, as upscale's ``-o`` is (before, the separator or the ``.`` was
    dropped and a file ``out/sub`` written). ``what``: the file, as the message names it."""

    def __init__(self, what: str):
        super().__init__(dir_okay=False, path_type=Path)
        self.what = what

    def convert(self, value, param, ctx):
        if isinstance(value, str) and names_a_folder(value):
            self.fail(f"{value} names a folder, not a file: give {self.what} a file name", param, ctx)
        return super().convert(value, param, ctx)


class ReportPathType(OutputFileType):
    """A report file (``--json``), by :class:`OutputFileType`'s rule."""

    def __init__(self):
        super().__init__("the report")


class CheckpointPathType(click.Path):
    """A checkpoint file given as a path (``models PATH...``, ``convert CKPT``): one that is not
    there at all is a usage error (exit 2, click's 'File ... does not exist.'); a link there to a
    file moved away, or a link loop, is the engine's to refuse in one line (exit 6, as ``--model``
    and the model folder's listing say it), as is one this user may not read (exit 5)."""

    def __init__(self):
        super().__init__(dir_okay=False, readable=False, path_type=Path)

    def convert(self, value, param, ctx):
        path = super().convert(value, param, ctx)
        if not os.path.lexists(path):
            self.fail(f"File {os.fsdecode(value)!r} does not exist.", param, ctx)
        return path


class ImagesType(click.ParamType):
    """A folder of images or a packed archive, ``ARCHIVE.npz[#SPLIT]`` (``train DATA``, ``--val``;
    ``archives=False``: a folder only, ``evaluate DIRECTORY``): an empty value or one that is not
    there is a usage error naming it, as an input not found is (exit 2); the rest the engine says
    before any work (``training.data.check_source`` / ``list_images``: a folder this user may not
    read, exit 5 ``cannot read DIR: permission denied``; a file, a broken link; no images in it)."""

    def __init__(self, archives: bool = True):
        self.archives = archives
        self.name = "DIR|ARCHIVE.npz" if archives else "DIR"

    def convert(self, value, param, ctx):
        if isinstance(value, Path):
            return value
        if not value:
            self.fail("the input path is empty", param, ctx)
        from ..training.data import split_source

        if missing_input(Path(split_source(value)[0] if self.archives else value)):
            self.fail(f"input not found: {value}", param, ctx)
        return str(value) if self.archives else Path(value)


class ModelType(click.ParamType):
    """A checkpoint file, or the name of a model ``ldcsr models`` lists, by the engine's one rule,
    ``load_model``'s and that of QGIS's and napari's Model lists
    (:func:`ldcsr_core.builtin_models.model_path`): a path that is there wins; else a built-in
    model's name (kept a name, so that Dask workers find the model in their own installation) or an
    adapted model's file name in the user's model folder (its path); else one usage error naming
    the models there are. Checked up front."""

    name = "FILE|NAME"

    def convert(self, value, param, ctx):
        from ..builtin_models import builtin_named, model_path
        from ..errors import InputError

        if isinstance(value, Path):
            return value
        try:
            path = model_path(value)
        except InputError as e:  # an empty value ("$MODEL" unset); a name of no
            # model: 'no model is named 'x': the models are …', as QGIS says it
            self.fail(str(e), param, ctx)
        if builtin_named(value) is not None:
            return value  # a built-in model's name stays one
        if path.is_dir():
            self.fail(f"{value!r} is a directory, not a checkpoint file", param, ctx)
        if not path.is_file():
            if os.path.exists(path) or os.path.islink(path):  # a device, a pipe, a socket, a link to a
                # file moved away or a link loop: the engine's one-line refusal, as `ldcsr models` lists it
                from ..checkpoints import check_checkpoint_file

                check_checkpoint_file(path)  # CheckpointError: '... is not a regular file' (exit 6)
            self.fail(f"checkpoint file {value!r} does not exist", param, ctx)
        return path


class WeightsFileType(ModelType):
    """As :class:`ModelType`, but always the file: a built-in model's name becomes its path
    (``train --init``, which reads the file itself)."""

    def convert(self, value, param, ctx):
        from ..builtin_models import model_path

        return Path(model_path(super().convert(value, param, ctx)))


scale_opt = click.option(
    "--scale", "-s", type=PairType("scale", minimum=1.0, maximum=MAX_SCALE), default=None,
    help=f"Upscaling factor, one value or per axis 'X,Y' (each > 1 and <= {MAX_SCALE:g}; "
         "non-integer allowed, e.g. 2.5).",
)
target_resolution_opt = click.option(
    "--target-resolution", "-r", type=PairType("target resolution"), default=None,
    metavar="SIZE[,SIZE]",
    help="Output pixel size in the CRS's units, metres for most projected CRSs ('X,Y' per axis; "
         "`ldcsr info` shows the units); needs a projected or local CRS, not degrees.",
)
model_opt = click.option(
    "--model", "-m", "model_path", default=None, type=ModelType(),
    help="Checkpoint: an official .ckpt or an ldcsr .safetensors, or a model's name as `ldcsr models` "
         "gives it (a built-in one, or an adapted one of your model folder; a file of that name here "
         "wins; default: the shipped model).",
)
mode_opt = click.option(
    "--mode", type=click.Choice(list(MODES)), default="diffusion", show_default=True,
    help="'diffusion': the 4-step sampler (seeded; with the shipped model sharper, detail may be invented); "
         "'fast': one deterministic decode (most faithful: highest PSNR; previews).",
)
seed_opt = click.option("--seed", type=SeedType(), default=0, show_default=True,
                        help="Random seed of the diffusion sampler.")
tile_opt = click.option(
    "--tile", type=click.IntRange(min=MIN_TILE_IN), default=None,
    help="Tile side in input pixels, fast mode (default: the model's own windows within a memory "
         "budget; 256 output px for the official weights). Diffusion mode always uses its fixed "
         "windows, so that a seed gives one picture.",
)
class DeviceType(click.ParamType):
    """``--device``: what the API's ``device=`` takes, by its one rule (:func:`~ldcsr_core.devices.
    device_name`: any letter case, ``cuda:N``), checked up front; whether this machine has the
    device is the engine's to say when the model loads (exit 7)."""

    name = "auto|cpu|cuda[:N]|mps"

    def convert(self, value, param, ctx):
        if value == "auto":  # the default: no torch import for it
            return value
        from ..devices import device_name
        from ..errors import DeviceError

        try:
            return device_name(value)
        except DeviceError as e:
            self.fail(str(e), param, ctx)


device_opt = click.option(
    "--device", type=DeviceType(), default="auto", show_default=True, metavar=DeviceType.name,
    help="Where the model runs: auto = CUDA, then MPS, then CPU; cuda:N for card N (any letter case).",
)
bands_opt = click.option(
    "--bands", "-b", default=None, metavar="R,G,B",
    help="1-based bands fed to the model as its RGB triplet, e.g. 3,2,1 or 4,3,2 (false colour); "
         "default: red, green, blue by colour interpretation, else a Sentinel-2 stack's 4,3,2, else the "
         "first three (`ldcsr info` shows it). upscale super-resolves all bands, the others "
         "following in triplets; selfcheck and adapt use this triplet only.",
)
overwrite_opt = click.option("--overwrite", is_flag=True,
                             help="Replace existing outputs (otherwise complete ones of the same request "
                                  "are skipped, any other file is refused: exit 4).")
dask_opt = click.option(
    "--dask", "dask_address", default=None, metavar="tcp://HOST:8786|local:N",
    help="Run tiles on a Dask cluster (scheduler address) or on N local worker processes.",
)
stretch_opt = click.option(
    "--stretch", type=click.Choice(list(STRETCHES)), default="auto",
    show_default=True,
    help="Radiometric mapping to the model's range: auto = uint8 as is, other types by robust "
         "per-band percentiles of the whole scene.",
)


class NodataType(click.ParamType):
    """``--nodata``: its text by the engine's one rule (``parse_nodata_text``), checked up front."""

    name = "VALUE|LO:HI|BAND=VALUE,...|none"

    def convert(self, value, param, ctx):
        from ..errors import InputError
        from ..geo.nodata_override import parse_nodata_text

        if not isinstance(value, str):  # a default or a caller's value, already parsed
            return value
        try:
            return parse_nodata_text(value)
        except InputError as e:
            self.fail(str(e), param, ctx)


nodata_opt = click.option(
    "--nodata", type=NodataType(), default=None, metavar=NodataType.name,
    help="Nodata of each input instead of what its file declares, e.g. 0 for black fill "
         "that the file does not declare, or 'none' when its declared value is real data; 0:5 a range "
         "(a noisy dark border), 0,255 several values, 1=0,2=255 each band's (a band left out has none). "
         "The input file is not changed; an upscale output declares the first value and writes it on "
         "every nodata pixel.",
)
compress_opt = click.option(
    "--compress", type=click.Choice(["deflate", "zstd", "lzw", "none"]), default="deflate",
    show_default=True, help="GeoTIFF compression of the output.",
)

samples_opt = click.option(
    "--samples", "-k", type=SamplesType(), default=1, show_default=True,
    help="Uncertainty map: run the diffusion sampler K times (seeds SEED..SEED+K-1); the output is "
         "their mean and their per-pixel spread goes to a second GeoTIFF (see --spread-out). K times slower; "
         f"at most {MAX_SAMPLES}.",
)
spread_out_opt = click.option(
    "--spread-out", type=OutputFileType("the spread file"), default=None, metavar="PATH",
    help="Where the spread GeoTIFF of --samples K>1 goes (one input only); default: OUT's name + "
         "'_spread.tif' next to each output.",
)

dtype_opt = click.option(
    "--dtype", type=click.Choice(["auto", "float32", "bfloat16", "float16"]), default=None,
    help="Float type the model computes in (default: LDCSR_DTYPE, else auto = float16 on CUDA, bfloat16 on "
         "a CPU with native bfloat16 (about 2x faster, ~52 dB from float32), float32 elsewhere).",
)


def model_run_opts(f):
    """The options of a command that runs the model on a raster: ``--model --mode --seed --tile
    --device --bands --stretch`` (``upscale``, ``selfcheck``)."""
    for option in reversed((model_opt, mode_opt, seed_opt, tile_opt, device_opt, bands_opt, stretch_opt)):
        f = option(f)
    return f


def check_samples_mode(option: str, count: int, mode: str) -> None:
    """Exit 2 on ``option`` when ``count`` > 1 diffusion samples (``upscale --samples``, ``selfcheck --mean-of``)
    are asked of a deterministic ``mode``, whose samples would all be the same image (``rules.check_samples``'s
    rule, in the command line's words)."""
    if count > 1 and mode != "diffusion":
        raise click.BadParameter(f"{option} {count} needs --mode diffusion: '{mode}' is deterministic, so every "
                                 "sample is the same image", param_hint=f"'{option}'")


report_overwrite_opt = click.option(
    "--overwrite", is_flag=True, help="Replace an existing --json file (otherwise: exit 4).")


def model_file(model) -> Path | None:
    """The file a ``--model`` value (a path, a built-in name, None: the default) reads, or None."""
    from ..builtin_models import model_path

    try:
        path = model_path(model)
    except Exception:  # no default model shipped: loading it says so
        return None
    return path if path.is_file() else None


def check_report(path: Path, hint: str, *, inputs=(), outputs=(), overwrite: bool = False,
                 html: bool = True) -> Path:
    """:func:`ldcsr_core.files.check_report_path` for a report option, before any work, with the
    exit statuses of every other output: a file the run reads or writes, a folder, a missing folder
    is exit 2 on ``hint``; a folder that cannot be written (permissions, a read-only disk) exit 5,
    as ``upscale -o`` there; an existing file without ``--overwrite`` exit 4; ``html=False``: an
    HTML name is exit 2 too (the report is written as JSON only)."""
    import errno

    from ..errors import InputError, RasterIOError
    from ..files import check_report_path

    try:
        return check_report_path(path, inputs=inputs, outputs=outputs, overwrite=overwrite, html=html)
    except RasterIOError as e:
        if e.errno != errno.ENOENT:  # not writable: an I/O error (5), said as it is
            raise
        raise click.BadParameter(str(e), param_hint=hint) from None
    except InputError as e:
        raise click.BadParameter(str(e), param_hint=hint) from None
