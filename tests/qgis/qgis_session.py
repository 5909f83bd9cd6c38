"""Start QGIS with Processing and the LDCSR provider, as the tests and the screenshot need it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def start_processing(gui: bool = False):
    """``(app, plugin)``: an initialised ``QgsApplication`` (offscreen without ``gui``), the
    Processing framework initialised and ``qgis_ldcsr``'s provider registered."""
    if not gui:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsApplication

    app = QgsApplication([], gui)
    app.initQgis()
    sys.path.append(os.path.join(QgsApplication.pkgDataPath(), "python", "plugins"))
    from processing.core.Processing import Processing

    Processing.initialize()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import qgis_ldcsr

    plugin = qgis_ldcsr.classFactory(None)
    plugin.initProcessing()
    return app, plugin
