"""Save a screenshot of napari with the LDCSR widget docked and a result over the sample scene.

    .venv/bin/python scripts/screenshot_plugin.py [docs/screenshot.png] [--tiny]

Uses the built-in default model (``--tiny``: a random-weight tiny model, for tests) in fast
mode on a rectangle of the NEON sample scene. Needs a display (or Xvfb: ``xvfb-run``).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

# the rectangle (world coordinates: -northing, easting) super-resolved over the sample
ROI = [[-3285132.0, 404222.0], [-3285116.0, 404222.0], [-3285116.0, 404238.0], [-3285132.0, 404238.0]]


def make_screenshot(path: str, *, model_provider=None, scale: float = 2.5, mode: str = "fast",
                    size: tuple[int, int] = (1280, 800), roi=ROI, qtbot=None) -> np.ndarray:
    """Open the viewer, run LDCSR on ROI, save the window as a PNG; returns the RGBA pixels."""
    import napari
    from napari.utils.notifications import notification_manager
    from PIL import Image
    from qtpy.QtWidgets import QApplication

    from napari_ldcsr._widget import LdcsrWidget

    errors = []
    notification_manager.notification_ready.connect(
        lambda n: errors.append(n.message) if str(getattr(n.severity, "value", "")) == "error" else None
    )
    viewer = napari.Viewer(title="napari-ldcsr", show=True)
    try:
        viewer.window._qt_window.resize(*size)
        (src,) = viewer.open_sample("napari-ldcsr", "neon_osbs")
        widget = LdcsrWidget(viewer, model_provider=model_provider)
        viewer.window.add_dock_widget(widget, name="LDCSR super-resolution", area="right")
        roi = viewer.add_shapes([roi], shape_type="rectangle", name="region", edge_color="yellow",
                                face_color="transparent", edge_width=0.3)
        widget.set_mode(mode)
        widget.set_region("shapes", roi)
        widget.set_scale(scale)
        viewer.layers.selection.active = src
        if not widget.run(layer=src):
            raise RuntimeError(f"run refused: {errors}")
        app = QApplication.instance()
        while widget.running:
            app.processEvents()
            if qtbot is not None:
                qtbot.wait(20)
        if errors or widget.last_result is None:
            raise RuntimeError(f"LDCSR run failed: {errors}")
        viewer.layers.move(viewer.layers.index(roi), len(viewer.layers) - 1)
        viewer.reset_view()
        app.processEvents()
        shot = viewer.screenshot(canvas_only=False, flash=False)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        Image.fromarray(np.asarray(shot)).save(path)
        return np.asarray(shot)
    finally:
        viewer.close()


def _tiny_model_provider(source):
    import ldcsr_core
    from ldcsr_core.config import tiny_test_config

    return ldcsr_core.build_model(config=tiny_test_config(), seed=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=os.path.join("docs", "screenshot.png"))
    parser.add_argument("--tiny", action="store_true", help="random-weight tiny model (no weights needed)")
    parser.add_argument("--mode", default="fast", choices=["fast", "diffusion"])
    args = parser.parse_args(argv)
    provider = _tiny_model_provider if args.tiny else None

    shot = make_screenshot(args.path, model_provider=provider, mode=args.mode)
    print(f"saved {args.path}: {shot.shape[1]}x{shot.shape[0]} px")
    return 0


if __name__ == "__main__":
    sys.exit(main())
