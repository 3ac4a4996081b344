"""A vendored stand-in for jinja2, which the runtime does not provide."""

__version__ = "0.0.0-vendored"
