"""The row form of an InvocationRecord: one tuple of its fields in ``bench.records.FIELDS`` order.

A record becomes its row once, as it arrives (:func:`row_of`); the SQLite store writes those
tuples as they are and the streaming statistics fold the very same tuples in batches, reading
their columns by position (:data:`COLUMN`). ``operator.attrgetter`` builds the tuple in C, several
times faster than ``dataclasses.astuple``, and a row is immutable, so a record changed after it
was collected cannot change what was collected.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from ..records import FIELDS, InvocationRecord

Row = tuple[Any, ...]

row_of: Callable[[InvocationRecord], Row] = operator.attrgetter(*FIELDS)
"""The record's field values, in FIELDS order."""

COLUMN: dict[str, int] = {name: index for index, name in enumerate(FIELDS)}
"""Each field's position in a row."""
