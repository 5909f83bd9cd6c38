"""Georeferenced rasters: raster I/O (rasterio), radiometry, the streaming raster pipeline and Dask."""
