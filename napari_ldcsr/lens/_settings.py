"""The form's settings the live lens computes with (mode, seed, nodata, stretch, bands, scale cap).

A mixin of :class:`~napari_ldcsr.lens._lens.LiveLens`: each setter stores the value and restarts
the view (``_restart``, the lens's); those that change how the source is read (nodata, stretch,
bands) also drop the lens's read of the layer's pixels (``_pixels``).
"""

from __future__ import annotations

from ldcsr_core.rules import check_mode


class LensSettings:
    """Setters of the lens's settings, as the dock widget's form gives them."""

    def set_mode(self, mode: str) -> None:
        self.mode = check_mode(mode)
        self._restart()

    def set_seed(self, seed: int) -> None:
        self.seed = int(seed)
        self._restart()

    def set_nodata(self, nodata) -> None:
        """The form's nodata (``parse_nodata_text``'s: a number, "none", ranges, several, each band's;
        None: the layer's), as a Run uses it."""
        self._read_as("nodata", nodata)

    def set_stretch(self, method: str) -> None:
        """The form's *Stretch* ("auto", "percentile", "dtype"), as a Run fits it."""
        self._read_as("stretch", str(method))

    def set_bands(self, bands) -> None:
        """The form's *Bands* (1-based; None: the Run's default triplet), as a Run feeds the model."""
        self._read_as("bands", None if bands is None else tuple(int(b) for b in bands))

    def _read_as(self, name: str, value) -> None:
        """Read the source with the form's ``name`` (nodata, stretch, bands) set to ``value`` from now on."""
        if value != getattr(self, name):
            setattr(self, name, value)
            self._pixels = None
            self._restart()

    def set_max_scale(self, value: float) -> None:
        self.max_scale = float(value)
        self._restart()
