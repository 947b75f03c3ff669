"""The shift-scheduling benchmark (Curtois instances): the text format's loader (``loader``), its mapping onto
the solver's rules, and the plain cpmpy reference model used as baseline and checker (``reference``)."""

from roster.nrp.loader import Instance, load, parse, to_problem

__all__ = ["Instance", "load", "parse", "to_problem"]
