"""Test function that vendors its own boto3 (which the runtime also has) and jinja2 (which it lacks)."""

import boto3
import jinja2


def handler(event, context):
    return {
        "boto3": [boto3.__version__, boto3.__file__],
        "jinja2": [jinja2.__version__, jinja2.__file__],
    }
