"""bench/targets/package.py: the reproducible zip of a function's source folder."""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path

import pytest

from bench.errors import UserError
from bench.targets import zip_folder


def make_source(folder: Path) -> Path:
    (folder / "pkg").mkdir(parents=True)
    (folder / "app.py").write_text("def lambda_handler(event, context):\n    return 1\n")
    (folder / "pkg" / "util.py").write_text("X = 1\n")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\x00junk")
    (folder / "pkg" / "stale.pyc").write_bytes(b"\x00junk")
    return folder


def test_zip_is_deterministic(tmp_path):
    source = make_source(tmp_path / "src")
    first = zip_folder(source)
    # A later checkout: new mtimes must not change the bytes (and so not the CodeSha256).
    later = time.time() + 3600
    for path in source.rglob("*"):
        os.utime(path, (later, later))

    assert zip_folder(source) == first
    names = zipfile.ZipFile(io.BytesIO(first)).namelist()
    assert names == ["app.py", "pkg/util.py"]


def test_zip_of_a_missing_or_empty_folder_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not a folder"):
        zip_folder(tmp_path / "nope")
    (tmp_path / "empty" / "__pycache__").mkdir(parents=True)
    with pytest.raises(UserError, match="no files"):
        zip_folder(tmp_path / "empty")
