"""Test function module that lacks the configured handler."""


def something_else(event, context):
    return {}
