"""Run folders: a new one for each run, and its record stores (one per Locust worker, and the merged one).

:func:`reserve_run_dir` makes the folder exclusively: two runs started in the same second (a CI
matrix, two terminals) once shared one folder, and so one records.sqlite and one journal; the
second now gets ``<stamp>-2``.

A single-process run writes ``records.sqlite`` itself. In Locust's distributed mode each
worker writes ``records-<worker>.sqlite`` (no two processes share one SQLite writer), and
:func:`merge_records` turns those into one ``records.sqlite``: every row of every worker file,
once, in start-time order. It rebuilds the output from the worker files each time it runs, so
running it twice cannot count a row twice. Workers on other machines: copy their files into
the folder first (SQLite's WAL mode, which the stores use, needs a local file system).
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from ..errors import UserError
from ..records import FIELDS
from .store import TABLE, check_columns, create_table_sql

RECORDS_NAME = "records.sqlite"
WORKER_PATTERN = "records-*.sqlite"

_COLUMNS = ", ".join(FIELDS)


def reserve_run_dir(reports: Path, prefix: str = "") -> Path:
    """Make and return a new, empty run folder ``reports/<prefix>YYYYmmdd-HHMMSS[-N]``."""
    stamp = prefix + time.strftime("%Y%m%d-%H%M%S", time.localtime())
    for i in range(1, 1000):
        run_dir = reports / (stamp if i == 1 else f"{stamp}-{i}")
        try:
            run_dir.mkdir(parents=True)
            return run_dir
        except FileExistsError:
            continue
    raise UserError(f"{reports}: cannot make a run folder (1,000 runs this second?)")


LATEST = "latest"


def point_latest(run_dir: Path) -> None:
    """reports/latest -> this run's folder, replaced atomically: what a CI script names without parsing."""
    link = run_dir.parent / LATEST
    tmp = run_dir.parent / f".{LATEST}-{run_dir.name}"
    try:
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(run_dir.name, target_is_directory=True)
        os.replace(tmp, link)
    except OSError:
        pass  # a file system without symlinks: the printed report path still names the run


def worker_stores(folder: str | Path) -> list[Path]:
    """The per-worker record stores in a run folder, in name order."""
    return sorted(Path(folder).glob(WORKER_PATTERN))


def merge_records(folder: str | Path) -> Path:
    """Write ``<folder>/records.sqlite`` from the worker stores in ``folder``; return its path.

    With no worker stores, the folder's own records.sqlite (a single-process run) is returned
    as it is. Raises FileNotFoundError when there is neither.
    """
    folder = Path(folder)
    output = folder / RECORDS_NAME
    sources = worker_stores(folder)
    if not sources:
        if output.is_file():
            return output
        raise FileNotFoundError(f"no {RECORDS_NAME} and no {WORKER_PATTERN} in {folder}")
    partial = folder / (RECORDS_NAME + ".partial")
    partial.unlink(missing_ok=True)
    conn = sqlite3.connect(partial)
    try:
        _copy_all(conn, sources)
    finally:
        conn.close()
    # Readers see the old file or the whole new one, never a half-written merge.
    os.replace(partial, output)
    return output


def _copy_all(conn: sqlite3.Connection, sources: list[Path]) -> None:
    conn.execute(create_table_sql())
    conn.execute(f"CREATE TEMP TABLE staging AS SELECT {_COLUMNS} FROM main.{TABLE} WHERE 0")
    for source in sources:
        conn.execute("ATTACH DATABASE ? AS source", (str(source),))
        try:
            check_columns(conn, source, schema="source")
            conn.execute(f"INSERT INTO temp.staging SELECT {_COLUMNS} FROM source.{TABLE}")
            conn.commit()
        finally:
            conn.execute("DETACH DATABASE source")
    conn.execute(
        f"INSERT INTO main.{TABLE} ({_COLUMNS}) SELECT {_COLUMNS} FROM temp.staging ORDER BY t_start_ns, worker"
    )
    conn.commit()
