"""Runs room: a Run from request to result layers, and the *Check quality here* self-check.

``_job`` (``JobSpec``, ``ModelCache``, layers ↔ rasters, the engine call), ``_region`` (whole /
view / Shapes regions), ``_prepare`` (a Run's checks and spec, status texts), ``_bigrun`` (results
streamed to a GeoTIFF), ``_runner`` (the Qt workers, the device probe), ``_results`` (result-layer
placement and progressive filling), ``_outcome`` (what a finished run adds to the viewer),
``_spread`` (the uncertainty layer), ``_selfcheck`` (the check, Qt-free) and ``_check_controls``
(its row in the dock widget). All but ``_runner`` and ``_check_controls`` are Qt-free.

Nothing is imported here, so importing the room stays cheap (no Qt, no torch).
"""
