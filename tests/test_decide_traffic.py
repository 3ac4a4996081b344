"""Tests of bench.decide.traffic: the user's [traffic] as an arrival profile, and Poisson arrivals.

Every rate is computed by hand from the settings; the Poisson checks use fixed seeds and exact
tests (a KS test of the gaps, a chi-square of per-day counts) rather than tolerances.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bench.decide.settings import DAYS_PER_MONTH, TrafficSettings
from bench.decide.traffic import ArrivalProfile, arrival_profile, arrival_times, load_trace, trace_profile

DAY = 86_400.0
# 864,000 requests a day: a mean of exactly 10 per second.
TEN_RPS_MONTH = 864_000 * DAYS_PER_MONTH


def test_steady_traffic_is_the_mean_rate_all_day():
    profile = arrival_profile(TrafficSettings(requests_per_month=TEN_RPS_MONTH))
    assert profile.kind == "steady"
    assert profile.edges_s == (0.0, DAY) and profile.rps == pytest.approx((10.0,), rel=1e-12)
    assert profile.rates.shape == (1440,) and np.allclose(profile.rates, 10.0, rtol=1e-12)
    assert profile.requests_per_month == pytest.approx(TEN_RPS_MONTH, rel=1e-12)
    assert profile.peak_window_s is None and profile.days == 1


def test_a_daily_peak_is_contiguous_around_midday_and_the_rest_carries_what_is_left():
    # 30/s for 4 h = 432,000; the other 20 h carry the other 432,000: 6/s.
    profile = arrival_profile(TrafficSettings(requests_per_month=TEN_RPS_MONTH, peak_rps=30, peak_hours_per_day=4))
    assert profile.kind == "peaked"
    assert profile.edges_s == (0.0, 10 * 3600.0, 14 * 3600.0, DAY)
    assert profile.rps == pytest.approx((6.0, 30.0, 6.0), rel=1e-12)
    assert profile.peak_window_s == (10 * 3600.0, 14 * 3600.0)
    assert profile.requests_per_month == pytest.approx(TEN_RPS_MONTH, rel=1e-12)
    rates = profile.rates
    assert np.allclose(rates[600:840], 30.0) and np.allclose(rates[:600], 6.0) and np.allclose(rates[840:], 6.0)


def test_a_peak_of_a_fraction_of_a_minute_keeps_exact_edges_and_the_total():
    # 1.01 h = 60.6 minutes, centred on midday: from 11:29:42 to 12:30:18.
    profile = arrival_profile(TrafficSettings(requests_per_month=TEN_RPS_MONTH, peak_rps=20, peak_hours_per_day=1.01))
    low, high = profile.peak_window_s
    assert (low, high) == (12 * 3600 - 1818.0, 12 * 3600 + 1818.0)
    assert profile.rates.sum() * 60 == pytest.approx(864_000, rel=1e-12)
    off = (864_000 - 20 * 3636) / (DAY - 3636)
    # Minute 689 (11:29) is 42 s off-peak and 18 s peak.
    assert profile.rates[689] == pytest.approx((42 * off + 18 * 20) / 60, rel=1e-12)


def test_bursts_replace_the_rate_under_them_and_the_base_gives_way():
    # 4 bursts of 100/s for 45 s carry 18,000; the other 86,220 s carry 846,000.
    settings = TrafficSettings(requests_per_month=TEN_RPS_MONTH, bursts_per_day=4, burst_rps=100, burst_s=45)
    profile = arrival_profile(settings)
    assert profile.kind == "bursty"
    base = 846_000 / (DAY - 180)
    centres = [3 * 3600.0, 9 * 3600.0, 15 * 3600.0, 21 * 3600.0]
    expected_edges = [0.0]
    for centre in centres:
        expected_edges += [centre - 22.5, centre + 22.5]
    assert profile.edges_s == (*expected_edges, DAY)
    assert profile.rps == pytest.approx((base, 100.0) * 4 + (base,), rel=1e-12)
    assert profile.requests_per_month == pytest.approx(TEN_RPS_MONTH, rel=1e-12)
    assert profile.peak_rps == 100.0
    # Per minute a 45 s burst is diluted (the chart's view); the profile itself keeps it at 100/s.
    minute = int((3 * 3600 - 22.5) // 60)
    assert profile.rates[minute] == pytest.approx((37.5 * base + 22.5 * 100) / 60, rel=1e-12)


def test_bursts_over_a_peak_replace_the_peak_and_the_off_peak_pays_for_them():
    # Peak 30/s 10:00-14:00; three bursts of 60/s for 600 s, centred at 04:00, 12:00 and 20:00.
    settings = TrafficSettings(
        requests_per_month=TEN_RPS_MONTH, peak_rps=30, peak_hours_per_day=4, bursts_per_day=3, burst_rps=60, burst_s=600
    )
    profile = arrival_profile(settings)
    edges, rps = profile.edges_s, profile.rps
    # The noon burst cuts the peak: 14,400 - 600 s of peak at 30/s.
    peak_requests = 30 * (4 * 3600 - 600)
    burst_requests = 3 * 60 * 600
    off = (864_000 - peak_requests - burst_requests) / (DAY - 4 * 3600 - 2 * 600)
    segment = {(edges[i], edges[i + 1]): rps[i] for i in range(len(rps))}
    assert segment[(12 * 3600 - 300.0, 12 * 3600 + 300.0)] == 60.0
    assert segment[(10 * 3600.0, 12 * 3600 - 300.0)] == 30.0
    assert segment[(0.0, 4 * 3600 - 300.0)] == pytest.approx(off, rel=1e-12)
    assert profile.requests_per_month == pytest.approx(TEN_RPS_MONTH, rel=1e-12)


def test_bursts_that_cannot_fit_are_refused():
    with pytest.raises(ValueError, match="more than the"):
        arrival_profile(
            TrafficSettings(requests_per_month=TEN_RPS_MONTH, bursts_per_day=4, burst_rps=500, burst_s=3600)
        )
    with pytest.raises(ValueError, match="under a day"):
        arrival_profile(
            TrafficSettings(requests_per_month=TEN_RPS_MONTH, bursts_per_day=30, burst_rps=11, burst_s=3600)
        )


def test_a_trace_shorter_than_a_day_repeats_and_a_longer_one_fills_its_last_day():
    short = trace_profile([60.0, 0.0, 120.0])
    assert short.kind == "trace" and short.days == 1 and len(short.rps) == 1440
    assert short.rps[:6] == (1.0, 0.0, 2.0, 1.0, 0.0, 2.0)
    assert short.requests_per_day == 480 * 180  # 1440 / 3 repeats of 180 requests
    long = trace_profile(np.arange(1500, dtype=float))
    assert long.days == 2 and len(long.rps) == 2880
    assert long.rps[1500] == 0.0 and long.rps[1501] == pytest.approx(1 / 60)  # the trace again from its start
    assert np.allclose(long.rates, np.resize(np.arange(1500) / 60, 2880))
    with pytest.raises(ValueError, match="no requests"):
        trace_profile([0.0, 0.0])


def test_load_trace_reads_counts_with_or_without_a_header(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("5\n0\n\n7.0\n")
    assert load_trace(plain) == [5.0, 0.0, 7.0]
    header = tmp_path / "header.csv"
    header.write_text("Invocations\n3\n4\n")
    assert load_trace(header) == [3.0, 4.0]


def test_load_trace_orders_timestamps_and_fills_the_minutes_cloudwatch_leaves_out(tmp_path):
    # CloudWatch returns the newest datapoint first and leaves out minutes with no invocations.
    trace = tmp_path / "cw.csv"
    trace.write_text("Timestamp,Invocations\n2026-11-20T10:03:00Z,9\n2026-11-20T10:01:00Z,4\n2026-11-20T10:00:00Z,2\n")
    assert load_trace(trace) == [2.0, 4.0, 0.0, 9.0]
    epoch = tmp_path / "epoch.csv"
    epoch.write_text("1700000060,1\n1700000000,3\n")
    assert load_trace(epoch) == [3.0, 1.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("count\n1\nx\n", "line 3: count 'x' must be a number >= 0"),
        ("count\n1\n-2\n", "line 3: count '-2' must be a number >= 0"),
        ("1,2,3\n", "line 1: expected 'count' or 'timestamp,count'"),
        ("t,c\n2026-11-20T10:00:00,1\nyesterday,2\n", "line 3: timestamp 'yesterday' must be ISO 8601"),
        ("t,c\n2026-11-20T10:00:00,1\n2026-11-20T10:00:30,2\n", "line 3: timestamp is not a whole number"),
        ("t,c\n2026-11-20T10:00:00,1\n2026-11-20T10:00:00,2\n", "line 3: timestamp repeats a minute"),
        ("t,c\n2026-11-20T10:00:00,1\n2,3\n4\n", "line 4: expected"),
        ("count\n", "no rows"),
        ("0\n0\n", "no requests"),
    ],
)
def test_a_bad_trace_is_a_value_error_naming_the_line(tmp_path, text, message):
    trace = tmp_path / "bad.csv"
    trace.write_text(text)
    with pytest.raises(ValueError, match="bad.csv") as raised:
        load_trace(trace)
    assert message in str(raised.value)


def test_a_trace_setting_wins_and_sets_the_monthly_volume(tmp_path):
    trace = tmp_path / "t.csv"
    trace.write_text("\n".join(["60"] * 1440))  # 1/s all day
    profile = arrival_profile(TrafficSettings(trace=trace))
    assert profile.kind == "trace" and profile.mean_rps == pytest.approx(1.0)
    assert profile.requests_per_month == pytest.approx(86_400 * DAYS_PER_MONTH)


def test_a_profile_must_be_whole_days_of_non_negative_rates():
    with pytest.raises(ValueError, match="whole number of days"):
        ArrivalProfile("steady", (0.0, 3600.0), (1.0,))
    with pytest.raises(ValueError, match=">= 0"):
        ArrivalProfile("steady", (0.0, DAY), (-1.0,))
    with pytest.raises(ValueError, match="kind"):
        ArrivalProfile("weekly", (0.0, DAY), (1.0,))
    with pytest.raises(ValueError, match="no requests"):
        ArrivalProfile("steady", (0.0, DAY), (0.0,))


def test_arrivals_are_sorted_and_only_where_the_rate_is_not_zero():
    # 5/s in the first minute of each day and in the last 10 minutes, nothing else.
    profile = ArrivalProfile("trace", (0.0, 60.0, DAY - 600, DAY), (5.0, 0.0, 5.0))
    times = arrival_times(profile, 3, np.random.default_rng(1))
    assert np.all(np.diff(times) >= 0) and times[0] >= 0 and times[-1] < 3 * DAY
    phase = np.mod(times, DAY)
    assert np.all((phase < 60) | (phase >= DAY - 600))
    # A warm-up before 0 comes from the end of the cycle.
    early = arrival_times(profile, 1, np.random.default_rng(1), start_s=-300)
    assert early[0] >= -300 and np.any(early < 0) and not np.any((early > 60) & (early < DAY - 600))


def test_arrivals_are_poisson_within_each_segment():
    rate = 2.0
    profile = ArrivalProfile("steady", (0.0, 3600.0, DAY), (rate, 0.0))
    rng = np.random.default_rng(7)
    times = arrival_times(profile, 40, rng)
    per_day = np.bincount((times // DAY).astype(int), minlength=40)
    # Poisson counts: the dispersion statistic sum((x - m)^2) / m is chi-square with n - 1 df.
    expected = rate * 3600
    dispersion = float(((per_day - expected) ** 2).sum() / expected)
    assert stats.chi2.sf(dispersion, 39) > 0.001 and stats.chi2.cdf(dispersion, 39) > 0.001
    first_day = times[times < 3600]
    gaps = np.diff(first_day)
    assert stats.kstest(gaps, "expon", args=(0, 1 / rate)).pvalue > 0.001
