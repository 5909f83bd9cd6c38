"""The Processing provider "LDCSR" with its one algorithm."""

from __future__ import annotations

import importlib.util
import os

from qgis.core import Qgis, QgsMessageLog, QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .algorithm import LdcsrSuperResolution

ENGINE_MISSING = ("LDCSR: the engine is not installed in the Python QGIS uses; install napari-ldcsr into "
                  "that Python from a checkout or a wheel of it ('python3 -m pip install /path/to/napari-ldcsr'; "
                  "it is not on PyPI, so 'pip install napari-ldcsr' finds nothing), after torch: see docs/qgis.md.")

TORCH_MISSING = ("LDCSR: torch, which the engine needs, is not installed in the Python QGIS uses: install it "
                 "into that Python (the CPU build: 'python3 -m pip install torch --index-url "
                 "https://download.pytorch.org/whl/cpu'), see docs/qgis.md.")

ICON = os.path.join(os.path.dirname(__file__), "icon.png")


class LdcsrProvider(QgsProcessingProvider):
    """Provider id ``ldcsr``: algorithms are ``ldcsr:<name>``."""

    def id(self) -> str:
        return "ldcsr"

    def name(self) -> str:
        return "LDCSR"

    def longName(self) -> str:  # noqa: N802
        return "LDCSR continuous-scale super-resolution"

    def icon(self) -> QIcon:
        return QIcon(ICON)

    def supportedOutputRasterLayerExtensions(self) -> list[str]:  # noqa: N802
        return ["tif"]

    def loadAlgorithms(self) -> None:  # noqa: N802
        if importlib.util.find_spec("ldcsr_core") is None:
            QgsMessageLog.logMessage(ENGINE_MISSING, "Processing", Qgis.Warning)
            return
        if importlib.util.find_spec("torch") is None:  # the engine's models need it (pip --no-deps, another Python)
            QgsMessageLog.logMessage(TORCH_MISSING, "Processing", Qgis.Warning)
            return
        self.addAlgorithm(LdcsrSuperResolution())
