"""Runs room: a Run from request to result layers, and the *Check quality here* self-check.

``_job`` (``JobSpec``, ``ModelCache``, layers ↔ rasters, the engine call), ``_region`` (whole /
view / Shapes regions), ``_bigrun`` (results streamed to a GeoTIFF), ``_runner`` (the Qt workers),
``_results`` (result-layer placement and progressive filling), ``_outcome`` (what a finished run
adds to the viewer), ``_spread`` (the uncertainty layer) and ``_selfcheck``. All but ``_runner``
are Qt-free.

Nothing is imported here, so importing the room stays cheap (no Qt, no torch).
"""
