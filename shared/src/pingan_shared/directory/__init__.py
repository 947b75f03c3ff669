"""The directory of places and organisations as every service sees it (DESIGN.md §3): a local copy of the owner's
entries (``replica``), read by code (``store``), and the doors that turn what a caller names into a code or a 422
(``doors``)."""
