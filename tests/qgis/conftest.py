"""Fixtures of the QGIS tests: one QGIS application with Processing for the whole session (a second
QgsApplication in one process aborts), the input scene, a tiny model file. QGIS is imported only
inside the fixture: without QGIS the test modules skip (or fail with ``CI=true``) when they import
:mod:`qgis_runs`, which a conftest cannot do (an error there is not a skip). No ``__init__.py``
here: a package named ``qgis`` would shadow QGIS's own."""

from __future__ import annotations

import numpy as np
import pytest
from qgis_scenes import _field, _write


@pytest.fixture(scope="session")
def qgis_processing():
    """A headless QgsApplication with Processing initialised and our provider registered."""
    from qgis_session import start_processing

    _app, plugin = start_processing(gui=False)
    import processing

    yield processing
    plugin.unload()


@pytest.fixture(scope="session")
def scene(tmp_path_factory):
    """16-bit, 4 bands, nodata 0, projected (UTM 33N, 10 m), odd size, band names and tags."""
    d = tmp_path_factory.mktemp("qgis_in")
    data = _field(np.random.default_rng(0), 4, 45, 61, 200, 12000)
    data[:, 5:14, 7:20] = 0
    return _write(d / "s2_uint16.tif", data, dtype="uint16", nodata=0,
                  descriptions=["B4 red", "B3 green", "B2 blue", "B8 nir"],
                  tags={"SENSOR": "S2A"})


@pytest.fixture(scope="session")
def tiny_model_file(tmp_path_factory):
    import ldcsr_core
    from ldcsr_core.config import tiny_test_config

    model = ldcsr_core.build_model(config=tiny_test_config(), seed=0)
    p = tmp_path_factory.mktemp("models") / "tiny.safetensors"
    return ldcsr_core.save_model(model, p, name="tiny-test", version="0", notes="random weights")


@pytest.fixture(scope="session")
def adapted_model_file(tmp_path_factory):
    """The tiny model with the metadata of an adapted one: guarded at ×2, fast mode, bands 1,2,3 of 4
    (the ``scene``'s Sentinel-2 triplet) with the percentile stretch (``auto`` on uint16)."""
    import ldcsr_core
    from ldcsr_core.config import tiny_test_config

    model = ldcsr_core.build_model(config=tiny_test_config(), seed=0)
    p = tmp_path_factory.mktemp("models") / "tiny-adapted.safetensors"
    return ldcsr_core.save_model(model, p, name="tiny-test-adapted", version="0+adapted", notes="adapted",
                                 extra={"adapted_from": "tiny-test", "adapt_scale": "2", "adapt_bands": "1,2,3",
                                        "adapt_band_count": "4", "adapt_stretch": "percentile"})
