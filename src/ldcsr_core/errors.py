"""Exception hierarchy of the engine (root: :class:`LdcsrError`), and :func:`one_line`.

Each class also derives from the standard exception a caller would expect (``ValueError`` for
bad values, ``OSError`` for file and device I/O), so ``except OSError`` keeps working.
"""

__all__ = ["LdcsrError", "InputError", "CheckpointError", "ConfigError", "SettingError", "Cancelled",
           "RasterIOError", "OutputNameError", "ReservedNameError", "OutputExistsError", "OVERWRITE", "OutputBusy", "DeviceError", "ClusterError", "one_line",
           "cause_line", "is_out_of_memory"]


class LdcsrError(Exception):
    """Root of every error raised on purpose by ldcsr_core."""


class InputError(LdcsrError, ValueError):
    """An image, scale or size argument that the engine cannot work with."""


class ConfigError(LdcsrError, ValueError):
    """A model configuration that is inconsistent or unsupported."""


class SettingError(ConfigError):
    """An environment variable of ldcsr's with a value it cannot take (``LDCSR_THREADS=0``,
    ``LDCSR_DTYPE=abc``): the user's setting, not the model's (the CLI's usage status, 2)."""


class CheckpointError(LdcsrError, KeyError):
    """A checkpoint that cannot be read safely or does not match the model."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class RasterIOError(LdcsrError, OSError):
    """A raster that cannot be opened, read or written (missing, unreadable, no permission)."""

    def __str__(self) -> str:  # the message alone, without OSError's "[Errno N]" prefix
        if self.errno is not None and self.strerror:
            return str(self.strerror)
        return str(self.args[0]) if self.args else ""


class OutputNameError(RasterIOError):
    """An output name refused before any work (:func:`ldcsr_core.file_names.check_name_length`): longer than its
    file system holds, a character its disk refuses, not UTF-8, or a Windows device's (:class:`ReservedNameError`):
    the user's choice of name (the CLI's usage status, 2, for every command). A name the disk itself refuses only as
    it is written (exfat-fuse's ``:``) is a write's :class:`RasterIOError`.

    ``kind``: ``"long"``, ``"characters"``, ``"encoding"``, ``"device"`` or ``"trailing"``; ``remedy``: the words
    at the message's end that say what to do ("choose a shorter name"), which a front end that made the name
    itself (a folder run's ``NAME_sr.tif``) says in its own (:meth:`worded`); ``suggested``: a name that would do,
    or None."""

    def __init__(self, *args, kind: str = "", remedy: str = "", suggested: str | None = None):
        super().__init__(*args)
        self.kind, self.remedy, self.suggested = kind, remedy, suggested

    def worded(self, remedy: str) -> str:
        """The message's first line with its :attr:`remedy` said as ``remedy``."""
        line = one_line(self)
        return line[:-len(self.remedy)] + remedy if self.remedy and line.endswith(self.remedy) else line


class ReservedNameError(OutputNameError):
    """An output name Windows takes for a device (``CON.tif``, ``nul.tif``) or would store otherwise (a trailing dot
    or space), given for Windows or a disk Windows reads."""


#: How the engine's :class:`OutputExistsError` messages say to replace an output: the Python API's
#: parameter (``write_raster``, ``save_model``, ``write_report``, ``Adaptation.save``); the CLI
#: says its flag instead (:meth:`OutputExistsError.worded`).
OVERWRITE = "overwrite=True"


class OutputExistsError(LdcsrError, FileExistsError):
    """The output path exists and replacing it was not asked for.

    ``overwrite``: the words of the message that tell a Python caller how to replace it (the
    call's parameter, e.g. :data:`OVERWRITE`), which a front end says in its own
    (:meth:`worded`: the CLI's ``--overwrite``); None when the message has none."""

    __str__ = RasterIOError.__str__

    def __init__(self, *args, overwrite: str | None = None):
        super().__init__(*args)
        self.overwrite = overwrite

    def worded(self, words: str | None = None, *, advice: str | None = None) -> str:
        """The message's first line with its ``overwrite`` words said as ``words`` (a front end's
        flag: the CLI's ``--overwrite``), or with the whole advice they are in ("use overwrite=True
        to replace it") said as ``advice``, for a front end that has no such control (napari's Run,
        which picks a free name itself)."""
        line = one_line(self)
        if not self.overwrite:
            return line
        if advice is not None:
            import re

            return re.sub(f"use {re.escape(self.overwrite)}( to replace it)?", lambda m: advice, line, count=1)
        head, found, tail = line.rpartition(self.overwrite)
        return head + (words or self.overwrite) + tail if found else line


class OutputBusy(OutputExistsError):
    """Another live run is writing the output now (it holds the output's claim,
    :class:`ldcsr_core.output_claims.OutputClaim`); raised only when asked not to wait for it."""


class DeviceError(LdcsrError, RuntimeError):
    """The requested compute device (CUDA, MPS) is not available or failed."""


class ClusterError(LdcsrError):
    """The Dask cluster can run no tile any more (its scheduler lost, no workers left, work lost
    again and again): not the input's fault, so a batch stops instead of failing each input left."""


class Cancelled(LdcsrError):
    """Raised by a progress callback (see :mod:`ldcsr_core.progress`) to stop a run."""


def one_line(exc: BaseException) -> str:
    """The first non-empty line of ``str(exc)``, or the exception's class name."""
    for line in str(exc).strip().splitlines():
        if line.strip():
            return line.strip()
    return type(exc).__name__


def cause_line(exc: BaseException) -> str:
    """The most specific line in ``exc``'s chain of causes: GDAL (through rasterio) raises
    "Read failed. See previous exception for details." with the real message in ``__cause__``."""
    lines = []
    e: BaseException | None = exc
    while e is not None and len(lines) < 6:
        lines.append(one_line(e))
        e = e.__cause__ or e.__context__
    useful = [m for m in lines if "See previous exception" not in m]
    return useful[-1] if useful else lines[0]


# Allocation failures as the back ends word them: PyTorch's CPU allocator, CUDA/MPS, oneDNN's
# "could not create a primitive" (what a convolution gets when its workspace cannot be allocated,
# e.g. under ulimit -v), and the CUDA libraries' own allocations, which torch's caching allocator
# does not make: cuBLAS "CUBLAS_STATUS_ALLOC_FAILED" (its handle, on a card nearly full), cuFFT
# "CUFFT_ALLOC_FAILED", cuDNN 9 "CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED".
_OOM_WORDS = ("out of memory", "can't allocate memory", "failed to allocate", "could not create a primitive",
              "alloc_failed", "allocation_failed")


def is_out_of_memory(err: BaseException) -> bool:
    """True for an allocation failure of any device: ``MemoryError``, torch's (CUDA/MPS)
    ``OutOfMemoryError``, or a ``RuntimeError`` that says so (torch-free; one rule for the tile
    loop's smaller-window retries and for the CLI's message)."""
    if isinstance(err, MemoryError) or type(err).__name__ == "OutOfMemoryError":
        return True
    return isinstance(err, RuntimeError) and any(w in str(err).lower() for w in _OOM_WORDS)
