"""opsproof: O&M of the integrated information service platform, as code and evidence."""

__version__ = "0.1.0"
