"""A vendored stand-in for boto3: the function's own copy must win over the runtime's."""

__version__ = "0.0.0-vendored"
