"""The deployment package: a function's source folder as a reproducible zip, and its CodeSha256.

Reproducible so that the same sources give the same CodeSha256, which is how the deployer
tells that a function's code is unchanged and need not be uploaded again.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile
from pathlib import Path

from bench.errors import UserError

# The DOS epoch: the earliest timestamp a zip entry can hold, so no build clock leaks in.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIPPED_DIRS = frozenset({"__pycache__"})
_SKIPPED_SUFFIXES = frozenset({".pyc"})


def _is_packaged(relative: Path) -> bool:
    if any(part in _SKIPPED_DIRS for part in relative.parts):
        return False
    return relative.suffix not in _SKIPPED_SUFFIXES


def _zip_entry(relative: Path, path: Path) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(relative.as_posix(), date_time=_ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    # Fixed modes rather than the file's own, which depend on the checkout's umask.
    mode = 0o755 if os.access(path, os.X_OK) else 0o644
    info.external_attr = (0o100000 | mode) << 16
    info.create_system = 3  # Unix, so Lambda honours the mode bits on every host
    return info


def zip_folder(folder: Path) -> bytes:
    """Zip a function's source folder byte-for-byte reproducibly.

    Entries are sorted, timestamps fixed and __pycache__/*.pyc left out, so the same
    sources give the same CodeSha256 and an unchanged function is not re-uploaded.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"function source {str(folder)!r}: not a folder")
    files = sorted((p.relative_to(folder), p) for p in folder.rglob("*") if p.is_file())
    files = [(relative, path) for relative, path in files if _is_packaged(relative)]
    if not files:
        raise UserError(f"function source {str(folder)!r}: the folder has no files to deploy")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for relative, path in files:
            archive.writestr(_zip_entry(relative, path), path.read_bytes(), compresslevel=6)
    return buffer.getvalue()


def code_sha256(zip_bytes: bytes) -> str:
    """The CodeSha256 Lambda reports for a zip: base64 of its SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode("ascii")
