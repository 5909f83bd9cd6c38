"""File I/O room: the GeoTIFF reader (eager ``_reader`` and lazy multiscale ``_lazy``, sharing
``_raster_layers``), the GeoTIFF writer (``_writer``) and the shipped sample scene (``_sample``).

Nothing is imported here, so importing the room stays cheap (no Qt, no torch).
"""
