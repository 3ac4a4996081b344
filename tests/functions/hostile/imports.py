"""Test function that imports, at INIT, the module named by its IMPORT environment variable."""

import importlib
import os

importlib.import_module(os.environ["IMPORT"])


def handler(event, context):
    return {"imported": os.environ["IMPORT"]}
