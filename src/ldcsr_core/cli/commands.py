"""The ``ldcsr`` command group: errors, exit statuses, logging and threads for every command.

The commands live in rooms of their own: ``upscale`` in :mod:`.upscale_cmd` (its checks of inputs and outputs
in :mod:`.upscale_plan`, its summary in :mod:`.batch_report`); ``info`` in :mod:`.info_cmd`; ``models`` and
``convert`` in :mod:`.describe_cmds`; options shared by several in :mod:`.options`.

Each command goes parse → validate → engine → write, and imports torch, rasterio and dask lazily
so ``ldcsr --help`` stays quick. Bad input ends in a one-line ``Error: ...`` and the exit code of
its error class (:data:`EXIT_CODES`, documented in docs/cli.md), never a traceback (``-v`` shows
tracebacks of unexpected errors).

The names in :data:`LAZY_COMMANDS` (``train``, ``evaluate``, ``selfcheck``, ``adapt``) are click commands in other modules of
this package, imported only when invoked and listed only when their module exists.
"""

from __future__ import annotations

import errno
import importlib
import importlib.util
import logging
import os
import signal
import sys

import click

__all__ = ["main", "LAZY_COMMANDS", "EXIT_CODES", "exit_code_for", "as_click_error", "reader_gone"]

log = logging.getLogger("ldcsr_core")

# name -> "module:attribute" of a click command, imported on first use.
LAZY_COMMANDS: dict[str, str] = {
    "train": "ldcsr_core.cli.train_cmd:train_command",
    "evaluate": "ldcsr_core.cli.train_cmd:evaluate_command",
    "selfcheck": "ldcsr_core.cli.selfcheck_cmd:selfcheck_command",
    "adapt": "ldcsr_core.cli.adapt_cmd:adapt_command",
}

# Exit status per error class (first match wins); 2 is click's usage error, 1 anything else.
EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_CODES: tuple[tuple[str, int], ...] = (
    ("InputError", 3),         # an input the engine cannot work with (raster, scale, bands)
    ("OutputExistsError", 4),  # the output exists and --overwrite was not given
    ("OutputNameError", 2),    # an output name refused before any work: too long, refused characters, not UTF-8,
                               # a Windows device's (CON.tif) on Windows or a disk it reads
    ("RasterIOError", 5),      # a file that cannot be read or written (also any other OSError)
    ("SettingError", 2),       # LDCSR_THREADS / LDCSR_DTYPE set to a value they cannot take
    ("CheckpointError", 6),    # a model file that is not a usable LDCSR checkpoint
    ("ConfigError", 6),
    ("DeviceError", 7),        # the requested device (cuda, mps) is not available
    ("Cancelled", 130),        # Ctrl-C, SIGTERM, SIGHUP (same code as a shell's SIGINT)
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
    if _engine_file_error(e):  # a bug's, as any other
        return EXIT_ERROR
    if isinstance(e, OSError) or type(e).__module__.split(".")[0] == "rasterio":
        return 5
    return EXIT_ERROR


def reader_gone(e: BaseException) -> bool:
    """True when ``e`` is a broken pipe of this process's own stdout or stderr: the program reading
    them has ended (``ldcsr models | head -1``). Nobody is left to read a message, so the run stops
    quietly as click ends it (exit 1); a broken pipe elsewhere (a Dask connection) stays an error."""
    import errno
    import select

    if not isinstance(e, OSError) or e.errno != errno.EPIPE or not hasattr(select, "poll"):
        return False
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            poll = select.poll()
            poll.register(stream.fileno(), select.POLLOUT)
            if any(ev & select.POLLERR for _, ev in poll.poll(0)):  # a pipe without its reader
                return True
        except (AttributeError, OSError, ValueError):  # closed or not a real file
            continue
    return False


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

    def _files_read_as_options(self, ctx, tokens: list[str]) -> list[str]:
        """The arguments of ``tokens`` (the command's name first) that click reads as options and that
        name files (``-scene.tif``): not those after ``--``, an option's value (``-o -out.tif``) nor the
        command's own option names (``-o`` is the option while a file ``-o`` is in the folder); none for a
        command that does not exist (click's "No such command" says the mistake made first)."""
        cmd = self.get_command(ctx, tokens[0]) if tokens else None
        if cmd is None:
            return []
        options = [p for p in cmd.get_params(ctx) if isinstance(p, click.Option)]
        takes_value = {o for p in options if not p.is_flag and not p.count for o in p.opts}
        names = {o for p in options for o in (*p.opts, *p.secondary_opts)}
        files = []
        for prev, a in zip(tokens, tokens[1:]):
            if a == "--":
                break
            if a.startswith("-") and len(a) > 1 and prev not in takes_value and a not in names and os.path.lexists(a):
                files.append(a)
        return files

    def invoke(self, ctx):
        protected = getattr(ctx, "_protected_args", None) or getattr(ctx, "protected_args", ())  # click < 8.2
        # A file named "-x.tif" is read as options: refused before anything runs, saying how to give it.
        # (Not only where click fails: beside another input with a --scale after it, "-scene.tif" read as
        # "-s cene.tif" was replaced by that --scale and the file left out, exit 0.)
        files = self._files_read_as_options(ctx, [*protected, *ctx.args])  # the command's (click empties them)
        if files:
            raise click.UsageError(f"'{files[0]}' would be read as options, its name starting with '-' "
                                   f"({files[0]} is a file: give it as ./{files[0]}, or put -- before it)", ctx)
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt as e:  # Ctrl-C or SIGTERM: outputs were cleaned up on the way
            # (a command that leaves something to continue from, e.g. train, says so in the message)
            raise LdcsrClickError(str(e) or "interrupted; no partial output was left", 130) from None
        except Exception as e:  # engine errors, rasterio errors, OSError: one clean line
            if reader_gone(e):  # click's own ending for EPIPE: no message, exit 1
                raise
            raise as_click_error(e, verbose=(ctx.obj or {}).get("verbose", 0)) from None


def as_click_error(e: BaseException, verbose: int = 0) -> LdcsrClickError:
    """One-line :class:`LdcsrClickError` for ``e`` with its documented exit status."""
    from ..errors import LdcsrError, OutputExistsError, is_out_of_memory, one_line

    # the engine tells a Python caller its parameter (overwrite=True); the command line, its flag
    msg = e.worded("--overwrite") if isinstance(e, OutputExistsError) else one_line(e)
    oom = is_out_of_memory(e)
    # expected: the engine's own errors (an InputError is its ValueError), the system's and rasterio's; not a
    # ValueError of another's (NumPy's "operands could not be broadcast", from a bug: exit 1, as any other)
    unexpected = not oom and (_engine_file_error(e) or not isinstance(e, (LdcsrError, OSError))
                              and type(e).__module__.split(".")[0] not in ("rasterio",))
    if verbose > 1 or (verbose and unexpected):  # -v: an unexpected error's traceback; -vv: any error's
        import traceback

        traceback.print_exception(type(e), e, e.__traceback__, file=sys.stderr)
    if oom:  # after the engine's own smaller-window retries
        why = "" if isinstance(e, MemoryError) and msg == "MemoryError" else f" ({msg})"
        msg = (f"out of memory{why}: free memory or raise the process's limit (ulimit -v), or ask for "
               "less at once (a smaller --tile, a smaller --window or --batch-size)")
    elif unexpected:
        msg = f"{type(e).__name__}: {msg} (run 'ldcsr -v ...' for the traceback)"
    output = _output_of_part_named(e)
    if output and str(output) not in msg:  # the file the user asked for, not only the hidden one it is written to
        msg = f"cannot write {output}: {msg}"
    return LdcsrClickError(msg, exit_code_for(e))


def _output_of_part_named(e: BaseException):
    """The output whose part file ``e`` names (:func:`~ldcsr_core.part_files.output_of_part`): in its ``filename``s, or
    only in its words, as rasterio's I/O errors carry GDAL's (no ``filename``), its path as the part file was made (the
    words do not tell where an unquoted path with a space starts); None where it names none, or a part file this
    process did not make to write (:func:`~ldcsr_core.part_files.made_here`: one given to read, as an input)."""
    from ..part_files import is_part_name, made_here, output_of_part, part_in_text

    names = [f for f in (getattr(e, "filename", None), getattr(e, "filename2", None))
             if isinstance(f, (str, bytes, os.PathLike)) and is_part_name(f)]
    part = os.fsdecode(names[0]) if names else part_in_text(str(e))
    made = made_here(part) if part else None
    return output_of_part(made) if made else None


# Errors of the system the files are on, whoever's file: expected (disk full, quota, permissions, read-only; a failing
# disk, a stale NFS handle, a network share gone).
_ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.EFBIG, errno.EIO,
                       errno.ESTALE, errno.ENOTCONN}


def _engine_file_error(e: BaseException) -> bool:
    """Whether ``e`` is an OSError, not the engine's own worded one, of a file the engine makes and owns (a part
    file, :func:`~ldcsr_core.part_files.is_part_name`: ``out/.a_sr.tif.k3j9x2ab.ldcsr-part`` not found), so a bug,
    not the user's files; errors of the system (:data:`_ENVIRONMENT_ERRNOS`) stay expected."""
    from ..errors import LdcsrError
    from ..part_files import is_part_name

    if not isinstance(e, OSError) or isinstance(e, LdcsrError) or e.errno in _ENVIRONMENT_ERRNOS:
        return False
    return any(isinstance(f, (str, bytes, os.PathLike)) and is_part_name(f) for f in (e.filename, e.filename2))


def _sigterm(signum, frame):  # turn SIGTERM/SIGHUP into a clean unwind (temp files removed)
    raise KeyboardInterrupt


@click.group(cls=LdcsrGroup, lazy_commands=LAZY_COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True,
              help="Only errors, and the notes that a result is untested (outside a model's training or check).")
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

    from ..geo.georef import NO_GEOREF_MESSAGES

    for m in NO_GEOREF_MESSAGES:
        warnings.filterwarnings("ignore", message=m)
    # SIGTERM, and SIGHUP (the terminal or ssh session closed) unless ignored (nohup): a clean
    # unwind like Ctrl-C's; before, a hang-up left the output's part file and no report.
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        try:
            if sig is not None and signal.getsignal(sig) is not signal.SIG_IGN:
                signal.signal(sig, _sigterm)
        except (ValueError, OSError):  # not in the main thread (e.g. some test runners)
            pass


# The commands (registered here so that `ldcsr --help` lists them without importing the engine).
from .describe_cmds import convert, models  # noqa: E402 - registered on the group below
from .info_cmd import info  # noqa: E402
from .upscale_cmd import upscale  # noqa: E402

for _command in (upscale, info, models, convert):
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    main()
