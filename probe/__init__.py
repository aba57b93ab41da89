"""probe: an internet-censorship measurement probe."""

__version__ = "0.1.0"
