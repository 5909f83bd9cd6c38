"""Entry-point shim: ``napari.yaml`` names ``napari_ldcsr._sample:neon_osbs_sample``.

The sample scene lives in :mod:`napari_ldcsr.io._sample`; this module only re-exports it so that
the manifest keeps working.
"""

from .io._sample import SAMPLE_CREDIT, neon_osbs_sample, sample_path

__all__ = ["SAMPLE_CREDIT", "sample_path", "neon_osbs_sample"]
