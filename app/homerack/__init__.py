"""HomeRack: a rack planner for homelabs."""

__version__ = "0.1.0"
