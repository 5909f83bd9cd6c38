"""Screenshot of the live lens with the linked panels: docs/screenshot_lens.png.

    xvfb-run -a -s "-screen 0 1600x1200x24" .venv/bin/python scripts/screenshot_lens.py [path] [--tiny]

Opens napari with the LDCSR widget and the NEON sample, zooms to ×4 on a part of the scene,
turns the live lens on (shipped model, fast mode), opens the linked panels and waits until the
view is done, then saves the whole window.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=os.path.join("docs", "screenshot_lens.png"))
    parser.add_argument("--tiny", action="store_true", help="random-weight tiny model (no weights needed)")
    args = parser.parse_args(argv)

    import napari
    import torch
    from qtpy.QtWidgets import QApplication

    from napari_ldcsr.io._sample import neon_osbs_sample
    from napari_ldcsr._widget import LdcsrWidget

    torch.set_num_threads(2)
    provider = None
    if args.tiny:
        import ldcsr_core
        from ldcsr_core.config import tiny_test_config

        model = ldcsr_core.build_model(config=tiny_test_config(), seed=0)
        provider = lambda source: model  # noqa: E731
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1500, 1100)
    widget = LdcsrWidget(viewer, model_provider=provider)
    viewer.window.add_dock_widget(widget, name="LDCSR super-resolution")
    (data, kw, _), = neon_osbs_sample()
    src = viewer.add_image(data, **kw)
    widget.set_layer(src)
    app = QApplication.instance()
    for _ in range(20):
        app.processEvents()
    viewer.camera.center = tuple(src.data_to_world((150, 210)))
    viewer.camera.zoom = 4.0 / float(src.scale[-1])
    widget.live.compare_button.setChecked(True)
    widget.live.live_box.setChecked(True)
    lens = widget.live.lens
    end = time.time() + 900
    while time.time() < end and not (lens.view is not None and lens.view.composer.complete and not lens.busy):
        app.processEvents()
        time.sleep(0.01)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    shot = viewer.screenshot(canvas_only=False, flash=False)
    import numpy as np
    from PIL import Image

    Image.fromarray(np.asarray(shot)).save(args.path)
    print(f"wrote {args.path} ({shot.shape[1]}×{shot.shape[0]})")
    viewer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
