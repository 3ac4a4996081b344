"""Test function whose module fails to import, as a missing dependency does."""

import a_module_that_does_not_exist  # noqa: F401


def handler(event, context):
    return {}
