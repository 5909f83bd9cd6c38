"""Save docs/qgis_dialog.png: the algorithm's dialog as QGIS shows it (run under Xvfb).

    xvfb-run -a -s "-screen 0 1400x1000x24" .venv-qgis/bin/python tests/qgis/make_dialog_screenshot.py

Not a test (pytest does not collect it): a reproducible way to refresh the documentation image.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(out: Path = ROOT / "docs" / "qgis_dialog.png") -> None:
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin
    from qgis.core import QgsApplication, QgsProject, QgsRasterLayer

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from qgis_session import start_processing

    app, plugin = start_processing(gui=True)

    scene = Path(tempfile.mkdtemp()) / "S2_T33UXP_20240601_10m.tif"
    data = (np.random.default_rng(0).random((4, 120, 160)) * 4000 + 200).astype("uint16")
    with rasterio.open(scene, "w", driver="GTiff", width=160, height=120, count=4,
                       dtype="uint16", crs="EPSG:32633", nodata=0,
                       transform=from_origin(600000, 5340000, 10, 10)) as ds:
        ds.write(data)
        for i, name in enumerate(["B4 red", "B3 green", "B2 blue", "B8 nir"], start=1):
            ds.set_band_description(i, name)
    layer = QgsRasterLayer(str(scene), scene.stem)
    QgsProject.instance().addMapLayer(layer)

    from processing.gui.AlgorithmDialog import AlgorithmDialog

    alg = QgsApplication.processingRegistry().createAlgorithmById("ldcsr:superresolution")
    dlg = AlgorithmDialog(alg)
    dlg.show()
    for _ in range(20):
        app.processEvents()
    dlg.resize(1000, 900)  # after show: the dialog restores its saved geometry when shown
    for _ in range(20):
        app.processEvents()
    dlg.grab().save(str(out))
    print(f"saved {out}")
    dlg.close()
    plugin.unload()


if __name__ == "__main__":
    main()
