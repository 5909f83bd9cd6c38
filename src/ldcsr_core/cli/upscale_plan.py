"""``ldcsr upscale``'s inputs and outputs, checked before any work: the files a request names (a folder's
rasters), the ``-o`` path, and the (input, output) pairs, with the refusals of outputs that would be an
input, another input's output or a name the disk refuses (advice for names made from an input).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import click

from . import options as opt
from ..words import path_said

__all__: list[str] = []


def _expand_inputs(inputs: tuple[Path, ...]) -> tuple[list[Path], bool]:
    """Files to process, and whether the request is a batch (folder or several files)."""
    from ..errors import RasterIOError
    from ..files import check_readable, real
    from ..geo.raster_io import is_raster_name

    files: list[Path] = []
    batch = len({real(p) for p in inputs}) > 1  # one file given twice (or by a link) is one input
    for p in inputs:
        if p.is_dir():
            batch = True
            check_readable(p)  # the engine's one line (exit 5), not errno's from iterdir
            # a broken link with a raster's name is listed, so that the batch reports it
            found = sorted(q for q in p.iterdir()
                           if is_raster_name(q) or (q.is_symlink() and not q.exists()
                                                    and is_raster_name(q, check_file=False)))
            if not found:  # there, but nothing to read in it: bad input (exit 5), as train's and evaluate's
                raise RasterIOError(errno.ENOENT, f"no raster files (.tif, .png, .jp2, ...) in folder {p}")
            files.extend(found)
        elif not opt.missing_input(p):  # a broken link too: its reading says so
            files.append(p)
        else:
            raise click.BadParameter(f"input not found: {path_said(p)}", param_hint="'IN'")
    return files, batch


def _check_geotiff_name(path: Path, hint: str, *, folder_ok: bool = True) -> None:
    """The engine's rule (:func:`~ldcsr_core.file_names.check_geotiff_name`) as a bad ``hint`` (exit 2)."""
    from ..errors import InputError
    from ..file_names import check_geotiff_name

    try:
        check_geotiff_name(path, folder_ok=folder_ok)
    except InputError as e:
        raise click.BadParameter(str(e), param_hint=hint) from None


def _output_arg(raw: str, *, single: bool) -> Path:
    """``-o`` as given, checked before any work: not empty; a name ending in a separator must be
    an existing folder, as must one ending in a ``.`` part (:func:`~.options.names_a_folder`); a single
    output that is not a folder must be named as a GeoTIFF."""
    if not raw.strip():
        raise click.BadParameter("the output path is empty", param_hint="'-o'")
    from ..files import check_name_length

    path = Path(raw)
    check_name_length(path)  # before is_dir(), which would fail in errno's words
    if opt.names_a_folder(raw) and not path.is_dir():  # out/sub/, out/sub/. (Path drops the .)
        raise click.BadParameter(f"output folder does not exist: {path_said(raw)}", param_hint="'-o'")
    if single and not path.is_dir():
        _check_geotiff_name(path, "'-o'")
    return path


def _output_name(src: Path) -> str:
    return f"{src.stem}_sr.tif"


def _made_name_refusal(e, src: Path, dst: Path, batch: bool) -> Exception:
    """``e`` (an :class:`~ldcsr_core.errors.OutputNameError` of ``dst``, NAME_sr.tif made from the input ``src`` in
    an output folder, or its spread file) with advice the user can follow: the name is not one they gave, so rename
    the input, or give the output a name of their own with ``-o`` (before: "choose another name, such as ...")."""
    import shlex

    from ..file_names import device_free

    made = f"the name is made from the input {src}: rename it"
    if e.kind == "encoding":  # (the input's own name: GDAL cannot open it either)
        remedy = f"{made} (GDAL opens files by UTF-8 names only)"
    else:
        rename = {"long": " to a shorter name", "characters": " without those characters",
                  "device": f" to {device_free(src.name)}"}.get(e.kind, "")
        say = f" (-o {shlex.quote(str(dst.with_name(e.suggested)))})" if e.kind == "device" and e.suggested else ""
        name = "a shorter name" if e.kind == "long" else "a name of your own"
        alone = f"upscale it alone with -o and {name}" if batch else f"give -o {name} instead of a folder"
        remedy = f"{made}{rename}, or {alone}{say}"
    return type(e)(e.errno, e.worded(remedy), kind=e.kind, remedy=remedy)


def _check_not_an_input_folder(folders, output: Path) -> None:
    """Refuse an output folder that is also an input folder (given as one, or by a glob such as
    ``in/*`` that names ``in/out``): its outputs would become inputs of the next (resumed) run."""
    from ..files import same_file

    for d in folders:
        if same_file(d, output):
            raise click.BadParameter(f"output folder is the input folder: {output}", param_hint="'-o'")


def _plan_outputs(files: list[Path], batch: bool, output: Path, folders=(), *, spread: bool = False,
                  spread_out: Path | None = None, quiet: bool = False, overwrite: bool = True) -> list[tuple[Path, Path]]:
    """(input, output) pairs, checked before any work: no output (nor, with ``spread``, its spread
    file: ``spread_out`` or NAME_spread.tif) is an input or another input's output; a file given
    twice is done once."""
    from ..file_names import name_key
    from ..errors import InputError
    from ..files import FileSet, check_not_special, check_writable
    from ..geo.raster_io import same_file
    from ..geo.sampling import default_spread_path

    _check_not_an_input_folder(folders, output)
    if batch or output.is_dir():
        if not output.is_dir():
            what = "is a file, not a folder" if os.path.lexists(output) else "does not exist"
            why = (f"the input {folders[0]} is a folder: its rasters' outputs go to an existing folder"
                   if folders else "several inputs need an existing folder")
            raise click.BadParameter(f"output folder {what}: {output} ({why})", param_hint="'-o'")
        pairs = [(f, output / _output_name(f)) for f in files]
    else:
        if not output.parent.is_dir():
            raise click.BadParameter(f"output folder does not exist: {path_said(output.parent)}",
                                     param_hint="'-o'")
        pairs = [(files[0], output)]
    check_writable(output if output.is_dir() else output.parent)  # else each input fails after its work
    if spread_out is not None and not spread_out.parent.is_dir():  # a usage error, as -o's missing folder
        raise click.BadParameter(f"spread folder does not exist: {spread_out.parent}", param_hint="'--spread-out'")
    inputs = FileSet(files)
    from ..geo.pipeline import may_be_removed, removed_input

    one = "the input" if len(files) == 1 else "an input"
    odd = [(f, one) for f in files if may_be_removed(f.name)]  # (else none looked at)
    seen: dict[tuple, Path] = {}  # name_key of each path written -> its input
    named: dict[tuple, Path] = {}  # and -> that path, as planned
    kept = []
    repeats: dict[Path, int] = {}  # a file given more than once (its first path) -> how many times
    for src, dst in pairs:
        first = seen.get(name_key(dst))
        if first is not None and same_file(first, src):  # a folder and a file in it, overlapping globs
            repeats[first] = repeats.get(first, 1) + 1
            continue
        kept.append((src, dst))
        written = [(dst, "output")]
        if spread:
            written.append((spread_out or default_spread_path(dst), "spread output"))
        for path, what in written:
            hint = "'--spread-out'" if what != "output" and spread_out else "'-o'"  # the option naming it
            try:
                check_not_special(path, what)
            except InputError as e:
                raise click.BadParameter(str(e), param_hint=hint) from None
            if path in inputs:
                from ..geo.pipeline import has_provenance

                why = (f"; {path.name} is itself a result of an earlier run: leave the *_sr.tif files out of "
                       "the inputs, or write to another folder" if has_provenance(path) else "")
                raise click.BadParameter(f"{what} path is an input file: {path} (inputs are never "
                                         f"overwritten){why}", param_hint=hint)
            removed = removed_input(path, lambda found: next(((f, one) for f in found if f in inputs), None), odd,
                                    overwrite)
            if removed:  # another input's sidecar (in/a.tif out/a_sr.tif.msk -o out: before, removed, 'failed')
                raise click.BadParameter(removed, param_hint=hint)
            key = name_key(path)
            if key in seen:
                case = (f"{named[key].name} and {path.name} are one file there: its file system does not "
                        "tell letter case apart" if named[key].name != path.name else "")
                if what != "output" and seen[key] == src:  # --spread-out naming -o
                    raise click.BadParameter(f"the spread file would be written over the output: {path} ("
                                             + (f"{case}; " if case else "") + "give --spread-out another name)",
                                             param_hint="'--spread-out'")
                raise click.BadParameter(f"{seen[key]} and {src} would both be written to {path}"
                                         + (f" ({case})" if case else "") + "; write them to different output "
                                         "folders (one command each), or rename one", param_hint="'IN'")
            seen[key], named[key] = src, path
    for path, n in repeats.items() if not quiet else ():
        click.echo(f"note: {path} is given {'twice' if n == 2 else f'{n} times'}; it is done once", err=True)
    return kept
