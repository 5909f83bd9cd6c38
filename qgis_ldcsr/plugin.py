"""The QGIS plugin object: registers the Processing provider when QGIS starts."""

from __future__ import annotations

from qgis.core import QgsApplication

from .provider import LdcsrProvider


class LdcsrPlugin:
    """Adds :class:`LdcsrProvider` to the Processing registry (GUI and headless alike)."""

    def __init__(self, iface=None):
        self.iface = iface
        self.provider: LdcsrProvider | None = None

    def initProcessing(self) -> None:  # noqa: N802 - QGIS's name
        """Register the provider (QGIS calls this for processing-only loads, e.g. qgis_process)."""
        if self.provider is None:
            self.provider = LdcsrProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:  # noqa: N802
        self.initProcessing()

    def unload(self) -> None:
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
