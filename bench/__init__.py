"""lambench: load-test and benchmark AWS Lambda functions across memory sizes."""

__version__ = "0.1.0"
