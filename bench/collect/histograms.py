"""HDR histograms of latencies in one fixed unit: microseconds, 3 significant digits.

Every histogram lambench keeps is made by :func:`new_histogram`, so that any two of them add
exactly (a worker's and the master's, a live one and one rebuilt from raw rows). The unit is the
integer microsecond: ``LOWEST_US`` = 1 µs is the smallest value told apart from 0 and
``HIGHEST_US`` = 1 hour the largest tracked. That covers Lambda's 15-minute limit with room for
what a client may wait beyond it (its read timeout is 930 s). A larger value is clamped to
``HIGHEST_US`` and counted as clamped, never dropped. Milliseconds go in and out; they are
rounded to the nearest microsecond (half to even) on the way in.

With 3 significant digits a recorded value and the value a percentile query returns differ by
less than 1/1024 of the value (0.098 %): HDR keeps 2,048 sub-buckets per power of two and
answers with the highest value of the bucket. Below 2,048 µs every microsecond has its own bucket.

Percentiles are not computed here: analysis reads :func:`buckets_us` (bench/analysis/sample.py
holds the one percentile rule). Recording is batched: :func:`record_us` computes HdrHistogram's
bucket index for a whole numpy array at once and adds the counts into the histogram's own counts array. The pure-Python
``record_value`` does the same one value at a time, about 20 times slower; a test checks that
both give identical histograms.
"""

from __future__ import annotations

import numpy as np
from hdrh.histogram import HdrHistogram
from numpy.typing import ArrayLike

UNIT = "us"
LOWEST_US = 1
HIGHEST_US = 3_600_000_000
SIGNIFICANT_DIGITS = 3

# frexp's exponent is an integer's bit length only while float64 holds it exactly.
assert HIGHEST_US < 2**53


def new_histogram() -> HdrHistogram:
    """An empty histogram with lambench's settings (µs, 1 µs .. 1 h, 3 digits)."""
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def ms_to_us(values_ms: ArrayLike) -> np.ndarray:
    """Milliseconds (float) to whole microseconds, rounded half to even, as int64."""
    return np.rint(np.asarray(values_ms, dtype=np.float64) * 1000.0).astype(np.int64)


def record_us(histogram: HdrHistogram, values_us: np.ndarray) -> int:
    """Record whole-microsecond values; return how many were clamped to HIGHEST_US.

    Negative values (a clock step) are recorded as 0: they happened, and dropping them would
    make the histogram's count disagree with the number of records.
    """
    values = np.asarray(values_us, dtype=np.int64)
    if values.size == 0:
        return 0
    clamped = int(np.count_nonzero(values > HIGHEST_US))
    values = np.clip(values, 0, HIGHEST_US)
    indexes = _counts_indexes(histogram, values)
    added = np.bincount(indexes, minlength=0).astype(np.uint64)
    counts = np.ctypeslib.as_array(histogram.counts)
    counts[: added.size] += added
    histogram.total_count += int(values.size)
    histogram.min_value = min(histogram.min_value, int(values.min()))
    histogram.max_value = max(histogram.max_value, int(values.max()))
    return clamped


def _counts_indexes(histogram: HdrHistogram, values: np.ndarray) -> np.ndarray:
    """HdrHistogram's counts index of each value (its _counts_index_for, vectorised)."""
    h = histogram
    # bit_length(v | sub_bucket_mask): the mask keeps small values in bucket 0.
    _, bit_length = np.frexp((values | h.sub_bucket_mask).astype(np.float64))
    bucket = bit_length.astype(np.int64) - h.unit_magnitude - (h.sub_bucket_half_count_magnitude + 1)
    sub_bucket = values >> (bucket + h.unit_magnitude)
    indexes: np.ndarray = ((bucket + 1) << h.sub_bucket_half_count_magnitude) + sub_bucket - h.sub_bucket_half_count
    return indexes


def encode(histogram: HdrHistogram) -> str:
    """The histogram as text: HdrHistogram's V2 compressed encoding, base64."""
    text: str = histogram.encode().decode("ascii")
    return text


def decode(text: str) -> HdrHistogram:
    """A histogram from :func:`encode`'s text; it refuses one made with other settings."""
    histogram = HdrHistogram.decode(text.encode("ascii"))
    settings = (histogram.lowest_trackable_value, histogram.highest_trackable_value, histogram.significant_figures)
    if settings != (LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS):
        raise ValueError(
            f"histogram made with (lowest, highest, digits) = {settings}, "
            f"expected {(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)}"
        )
    return histogram


def buckets_us(histogram: HdrHistogram) -> tuple[np.ndarray, np.ndarray]:
    """(values, counts) of the histogram's non-empty buckets, ascending; each value is its bucket's
    highest equivalent value in µs (what HdrHistogram answers for a percentile in that bucket).

    HdrHistogram's get_value_from_index and get_highest_equivalent_value, vectorised over the
    counts array; a test checks that the values are the library's.
    """
    h = histogram
    counts = np.ctypeslib.as_array(h.counts)[: h.counts_len]
    index = np.flatnonzero(counts).astype(np.int64)
    bucket = (index >> h.sub_bucket_half_count_magnitude) - 1
    sub_bucket = (index & (h.sub_bucket_half_count - 1)) + h.sub_bucket_half_count
    first = bucket < 0
    sub_bucket[first] -= h.sub_bucket_half_count
    bucket[first] = 0
    lowest = sub_bucket << (bucket + h.unit_magnitude)
    highest = lowest + (np.int64(1) << (bucket + h.unit_magnitude)) - 1
    return highest, counts[index].astype(np.int64)
