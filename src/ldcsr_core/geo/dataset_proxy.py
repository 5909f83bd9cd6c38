"""A rasterio dataset with something behind it: attributes pass through, closing closes it."""

from __future__ import annotations

__all__ = ["DatasetProxy"]


class DatasetProxy:
    """Wraps an open rasterio dataset (attributes pass through; a context manager that closes it).
    Subclasses close what else they hold (an in-memory file) or add attributes (a palette view)."""

    def __init__(self, dataset):
        self._dataset = dataset

    def __getattr__(self, name):
        return getattr(self._dataset, name)

    def close(self) -> None:
        self._dataset.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
