"""libtiff's process-wide messages, sent to the debug log instead of raw lines on stderr.

GDAL's file access for TIFFs (its read, write and seek procedures) reports a failed write or seek
(``_tiffWriteProc: No space left on device.``, ``_tiffSeekProc: File too large.``) through
libtiff's process-wide error handler. With a libtiff that has per-file handlers (4.5 and later) GDAL
routes each file's messages to its own error handler (rasterio's log, our one-line error) and leaves
the process-wide one at libtiff's default, which writes to stderr itself: those lines went past
logging and ``-q``, besides our own ``Error:`` line saying the same. :func:`route_libtiff_messages`
gives the libtiff that rasterio's GDAL uses a handler that logs them at DEBUG (``-vv`` shows them),
and puts libtiff's own back when the interpreter ends (no Python callback after it is gone).
Where that libtiff cannot be found (a GDAL built with its own renamed copy the code does not know,
another platform's loader), nothing changes.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import threading

__all__ = ["route_libtiff_messages"]

log = logging.getLogger("ldcsr_core.geo.libtiff")

# libtiff's TIFFErrorHandler / TIFFWarningHandler: void (*)(const char *module, const char *fmt, va_list)
_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p)
_lock = threading.Lock()
_routed: bool | None = None  # None: not tried yet
_keep: list = []  # the callbacks, alive as long as libtiff may call them


def _libtiff_setters():
    """``TIFFSetErrorHandler`` and ``TIFFSetWarningHandler`` of the libtiff rasterio's GDAL uses
    (looked up from rasterio's own module: the loader searches its libraries, GDAL then libtiff)."""
    import rasterio._env

    lib = ctypes.CDLL(rasterio._env.__file__)
    for prefix in ("gdal_", ""):  # a GDAL built with its internal libtiff renames its symbols
        try:
            setters = [getattr(lib, f"{prefix}TIFFSet{kind}Handler") for kind in ("Error", "Warning")]
        except AttributeError:
            continue
        for f in setters:
            f.restype, f.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
        return setters
    raise AttributeError("TIFFSetErrorHandler")


def _formatter():
    libc = ctypes.CDLL(None)
    vsnprintf = libc.vsnprintf
    vsnprintf.restype = ctypes.c_int
    vsnprintf.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p]
    return vsnprintf


def _handler(kind: str, vsnprintf):
    def handle(module, fmt, args):
        try:  # never raise into C (ctypes would print the exception on stderr)
            buf = ctypes.create_string_buffer(1024)
            vsnprintf(buf, len(buf), fmt, args)
            where = f"{module.decode(errors='replace')}: " if module else ""
            log.debug("libtiff %s: %s%s", kind, where, buf.value.decode(errors="replace"))
        except Exception:
            pass

    return _HANDLER(handle)


def route_libtiff_messages() -> bool:
    """Send the process-wide messages of rasterio's libtiff to the debug log (once per process).
    Returns whether they are routed."""
    global _routed
    with _lock:
        if _routed is None:
            _routed = False
            try:
                setters, vsnprintf = _libtiff_setters(), _formatter()
            except (AttributeError, OSError, ImportError, TypeError, ValueError):  # not found here
                return False
            callbacks = [_handler(kind, vsnprintf) for kind in ("error", "warning")]
            _keep.extend(callbacks)
            olds = [set_(ctypes.cast(cb, ctypes.c_void_p)) for set_, cb in zip(setters, callbacks)]
            atexit.register(lambda: [set_(old) for set_, old in zip(setters, olds)])
            _routed = True
        return _routed
