"""Live-lens room: the lens that super-resolves what is on screen.

``_lens_cache`` (Qt-free: scale steps, the global tile grid, exact composition, the LRU tile
cache) and ``_plan`` (Qt-free: which layers the lens takes, the view on screen → step, window and
grid) plan and cache; ``_draw`` draws into napari (the live layer, Keep); ``_lens`` (``LiveLens``)
follows the camera and runs the worker; ``_live_panel`` is the dock widget's section for it.

Nothing is imported here, so importing the room stays cheap.
"""
