"""Comparison room: the side-by-side grid and A/B blink over a run's layers (``_sidebyside``,
Qt-free), the dock widget's Compare group (``_controls``; deletions it follows: ``_follow``) and the
linked panels docked below the canvas (``_compare``: ``CompareDock``).

Nothing is imported here, so importing the room stays cheap.
"""
