"""``python -m napari_ldcsr``: napari with the LDCSR dock widget and the sample scene."""

from __future__ import annotations

import argparse

PLUGIN = "napari-ldcsr"
WIDGET = "LDCSR super-resolution"
SAMPLE = "neon_osbs"


def setup_viewer(viewer, *, sample: bool = True, paths: list[str] | None = None):
    """Open the sample scene (and ``paths``) in ``viewer`` and dock the LDCSR widget; returns it.
    A path that cannot be opened is reported in one line (a notification, which napari also prints
    to the terminal) and the others still open."""
    from ldcsr_core.errors import one_line

    from ._viewer import notify
    from .io._reader import unopened

    if sample:
        viewer.open_sample(PLUGIN, SAMPLE)
    for path in paths or []:
        why = unopened(path)  # the reader declines it (napari's 'refused the file'): the engine's words
        if why:
            notify("error", f"cannot open {path}: {why}")
            continue
        try:
            viewer.open(path, plugin=PLUGIN)
        except Exception as exc:  # noqa: BLE001 - a bad file must not keep the viewer from opening
            notify("error", f"cannot open {path}: {one_line(exc)}")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, WIDGET)
    return widget


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m napari_ldcsr", description=__doc__)
    parser.add_argument("paths", nargs="*", help="raster files (GeoTIFF, VRT, .img, ...) to open as well")
    parser.add_argument("--no-sample", action="store_true", help="do not open the NEON sample scene")
    args = parser.parse_args(argv)
    try:
        import napari
    except ImportError as exc:  # the bare install (engine + `ldcsr` only) has no viewer
        raise SystemExit(f"python -m napari_ldcsr: napari cannot be imported ({exc}); install the viewer "
                         'with: pip install napari PyQt6 (the package\'s [napari] extra)') from None

    viewer = napari.Viewer(title="napari-ldcsr")
    setup_viewer(viewer, sample=not args.no_sample, paths=args.paths)
    try:
        napari.run()
    except KeyboardInterrupt:  # Ctrl-C in the terminal closes the viewer, no traceback
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
