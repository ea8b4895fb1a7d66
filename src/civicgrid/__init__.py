"""CivicGrid: grid-based community governance (智慧玉泉)."""

__version__ = "0.1.0"
