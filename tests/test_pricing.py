"""Prices by region (bench/analysis/pricing.py over bench.awsfacts.REGION_PRICES), every figure by hand.

The regions' figures are those of awsfacts' sources, copied here as the test's own known answers:
eu-west-1 provisioned concurrency 0.0000046460 and its duration 0.0000108407 per GB-s, HTTP API
$1.11 per million; ap-southeast-1 0.0000051991 and 0.0000121313; us-east-1 0.0000041667 and
0.0000097222, HTTP API $1.00; first-tier duration (0.0000166667 x86_64, 0.0000133334 arm64) and
requests ($0.20 per million) the same in all three. Where a region's sources give no figure, it
is us-east-1's, and the words say which.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bench.analysis import InvocationProfile, TrafficProfile, cost_per_million, monthly_cost, summarize
from bench.analysis.pricing import prices_for
from bench.analysis.sample import Sample
from bench.awsfacts import ARCHITECTURES, DURATION_TIER_CEILINGS_GB_S, REGION_PRICES
from bench.collect import RecordStore, build_stats
from bench.decide.provisioned import break_even_utilisation, plan_provisioned
from bench.decide.recommend import decide
from bench.decide.settings import DAYS_PER_MONTH, DecisionSettings, TrafficSettings
from bench.decide.traffic import arrival_profile
from bench.records import InvocationRecord

DURATION, DURATION_ARM, REQUEST = 0.0000166667, 0.0000133334, 0.20 / 1e6
PC = {"us-east-1": 0.0000041667, "eu-west-1": 0.0000046460, "ap-southeast-1": 0.0000051991}
PC_DURATION = {"us-east-1": 0.0000097222, "eu-west-1": 0.0000108407, "ap-southeast-1": 0.0000121313}
HTTP_API = {"us-east-1": 1.00, "eu-west-1": 1.11, "ap-southeast-1": 1.00}  # ap-southeast-1: us-east-1's
MONTH_S = 730 * 3600
T0 = 1_795_000_000 * 10**9


# ---- the table and its gaps ----


def test_every_region_lists_at_most_the_tiers_there_are_and_us_east_1_lists_everything():
    for region, table in REGION_PRICES.items():
        for arch, rates in table.duration_usd_per_gb_s.items():
            assert 1 <= len(rates) <= len(DURATION_TIER_CEILINGS_GB_S[arch]), region
        assert table.source, region
    base = REGION_PRICES["us-east-1"]
    for arch in ARCHITECTURES:
        assert len(base.duration_usd_per_gb_s[arch]) == len(DURATION_TIER_CEILINGS_GB_S[arch])
        assert arch in base.request_usd_per_million and arch in base.provisioned_usd_per_gb_s
        assert arch in base.provisioned_duration_usd_per_gb_s
    assert set(base.apigw_usd_per_million) == {"apigw-http", "apigw-rest"}


@pytest.mark.parametrize("region", ["eu-west-1", "ap-southeast-1"])
def test_a_regions_own_figures_and_us_east_1s_where_it_has_none(region):
    prices, base = prices_for(region), prices_for("us-east-1")
    x86, arm = prices.arch("x86_64"), prices.arch("arm64")
    assert (x86.duration_tiers[0].usd_per_gb_s, arm.duration_tiers[0].usd_per_gb_s) == (DURATION, DURATION_ARM)
    assert x86.provisioned_usd_per_gb_s == PC[region]
    assert x86.provisioned_duration_usd_per_gb_s == PC_DURATION[region]
    assert x86.request_usd_per_million == arm.request_usd_per_million == 0.20
    # No source gives arm64 provisioned prices outside us-east-1: us-east-1's, and named.
    assert arm.provisioned_usd_per_gb_s == base.arch("arm64").provisioned_usd_per_gb_s == 0.0000033334
    assert arm.provisioned_duration_usd_per_gb_s == 0.0000077778
    assert prices.gateway_usd_per_million("apigw-http") == HTTP_API[region]
    assert prices.gateway_usd_per_million("apigw-rest") == 3.50
    # The tiers' bounds are the same; the later tiers' rates are the region's offer file's (eu-west-1)
    # or us-east-1's (ap-southeast-1, whose source lists the first tier only); equal either way.
    assert x86.duration_tiers == base.arch("x86_64").duration_tiers


def test_the_words_name_exactly_what_is_us_east_1s():
    eu, ap = prices_for("eu-west-1"), prices_for("ap-southeast-1")
    assert eu.statement("x86_64", ["direct", "apigw-http"]) == "eu-west-1 prices"
    assert eu.statement("arm64", ["direct"]) == "eu-west-1 prices; arm64 provisioned concurrency at us-east-1's"
    assert ap.statement("x86_64", ["direct"]) == "ap-southeast-1 prices; duration tiers beyond the first at us-east-1's"
    assert ap.statement("arm64", ["apigw-rest"]) == (
        "ap-southeast-1 prices; arm64 provisioned concurrency, duration tiers beyond the first and "
        "API Gateway REST API at us-east-1's"
    )
    assert ap.statement() == (
        "ap-southeast-1 prices; arm64 provisioned concurrency, duration tiers beyond the first and "
        "API Gateway at us-east-1's"
    )
    assert prices_for("us-east-1").statement("arm64", ["apigw-http"]) == "us-east-1 prices"


def test_a_region_without_a_table_and_a_run_without_a_region_are_priced_at_us_east_1s_and_said_so():
    for region, words in (("me-central-1", "no price table for me-central-1: us-east-1 prices"),
                          (None, "no region recorded: us-east-1 prices")):  # fmt: skip
        prices = prices_for(region)
        assert prices.statement("x86_64", ["direct"]) == words
        assert prices.lambda_prices == prices_for("us-east-1").lambda_prices
        assert cost_per_million(100, 1024, "x86_64", "apigw-http", region=region) == pytest.approx(1.86667 + 1.00)


# ---- the cost of known records, by region ----


def _records(arch_memory: int = 1024) -> list[InvocationRecord]:
    """10 calls on each of direct and apigw-http, each billed 100 ms at 1024 MB."""
    return [
        InvocationRecord(
            run_id="r",
            variant="mem-1024",
            path=path,
            t_start_ns=T0 + i,
            client_ms=110.0,
            status="ok",
            request_id=f"{path}-{i}",
            cold=False,
            duration_ms=99.5,
            billed_ms=100,
            max_memory_mb=60,
            memory_mb=arch_memory,
        )  # fmt: skip
        for path in ("direct", "apigw-http")
        for i in range(10)
    ]


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-1", "me-central-1", None])
def test_the_cost_of_known_records_in_each_region(region):
    summary = summarize(_records(), architecture="x86_64", region=region)
    costs = {v.path: v.cost_per_million_usd for v in summary.variants}
    lambda_usd = 1e6 * (0.1 * DURATION + REQUEST)  # 0.1 GB-s a call: 1.86667
    assert costs["direct"] == pytest.approx(lambda_usd, rel=1e-12)
    assert costs["apigw-http"] == pytest.approx(lambda_usd + HTTP_API.get(region or "", 1.00), rel=1e-12)
    assert summary.region == region
    arm = summarize(_records(), architecture="arm64", region=region)
    assert {v.path: v.cost_per_million_usd for v in arm.variants}["direct"] == pytest.approx(
        1e6 * (0.1 * DURATION_ARM + REQUEST), rel=1e-12
    )


@pytest.mark.parametrize("region", ["eu-west-1", "ap-southeast-1"])
def test_a_month_with_provisioned_concurrency_differs_from_us_east_1s_by_the_tables_ratios(region):
    # 2 environments of 1 GB always on, serving all 1 M requests of 100 ms.
    traffic = TrafficProfile(1e6, provisioned_concurrency=2, provisioned_hours=730)
    here, there = (monthly_cost(InvocationProfile(1024, "x86_64", 100.0, 100.0, region=r), traffic)
                   for r in (region, "us-east-1"))  # fmt: skip
    items, base = {i.name: i for i in here.items}, {i.name: i for i in there.items}
    assert items["Provisioned concurrency"].quantity == base["Provisioned concurrency"].quantity == 2 * MONTH_S
    assert items["Provisioned concurrency"].usd / base["Provisioned concurrency"].usd == pytest.approx(
        PC[region] / PC["us-east-1"], rel=1e-12
    )
    assert items["Lambda duration, provisioned"].usd / base["Lambda duration, provisioned"].usd == pytest.approx(
        PC_DURATION[region] / PC_DURATION["us-east-1"], rel=1e-12
    )
    assert items["Lambda requests"].usd == base["Lambda requests"].usd == pytest.approx(0.20)
    assert here.total_usd == pytest.approx(0.20 + 2 * MONTH_S * PC[region] + 1e5 * PC_DURATION[region], rel=1e-12)
    assert here.notes[0] == f"{region} prices" + (
        "" if region == "eu-west-1" else "; duration tiers beyond the first at us-east-1's"
    )


@pytest.mark.parametrize("region", ["eu-west-1", "ap-southeast-1"])
def test_the_provisioned_concurrency_pick_is_priced_in_its_region(region):
    # tests/test_provisioned.py's sparse case: 2,600 requests a month of 1 ms at 128 MB; one
    # environment always on serves them all. Only its charge and duration rate change by region.
    profile = arrival_profile(TrafficSettings(requests_per_month=2600))
    warm, init = Sample.of([1.0]), Sample.of([100.0])
    picks = {
        r: plan_provisioned(
            profile,
            warm,
            warm,
            init,
            memory_mb=128,
            architecture="x86_64",
            path="direct",
            decision=DecisionSettings(),
            region=r,
        )  # fmt: skip
        for r in (region, "us-east-1")
    }
    here, base = picks[region], picks["us-east-1"]
    assert here.count == base.count == 1 and here.on_demand_monthly_usd == base.on_demand_monthly_usd
    pc_usd = {r: 0.125 * MONTH_S * PC[r] + 2600 * 0.001 * 0.125 * PC_DURATION[r] for r in (region, "us-east-1")}
    assert here.monthly_usd == pytest.approx(2600 * REQUEST + pc_usd[region], rel=1e-9)
    assert here.monthly_usd - base.monthly_usd == pytest.approx(pc_usd[region] - pc_usd["us-east-1"], rel=1e-6)
    u = PC[region] / (DURATION - PC_DURATION[region])
    assert here.break_even_utilisation == pytest.approx(u, rel=1e-12)
    if region == "ap-southeast-1":  # 0.0000051991 + 0.0000121313 > 0.0000166667: it never pays
        assert u > 1 and here.sensitivity is not None
        assert here.sensitivity.startswith("Provisioned concurrency never costs less than on demand")
    else:
        # One environment at 1 ms a call pays above u x 1,000 requests a second.
        assert here.sensitivity is not None and here.sensitivity.startswith(f"PC stops paying below {1000 * u:.3g} rps")


def test_break_even_by_region():
    assert break_even_utilisation("x86_64", "eu-west-1") == pytest.approx(0.0000046460 / (DURATION - 0.0000108407))
    assert break_even_utilisation("arm64", "eu-west-1") == break_even_utilisation("arm64", "us-east-1")


# ---- the decision, the report and the terminal name whose prices ----


def _decision_records() -> list[InvocationRecord]:
    rng = np.random.default_rng(1)
    out = []
    for memory, duration in ((512, 100.0), (1024, 55.0)):
        for i in range(300):
            cold = i < 6
            ms = float(rng.lognormal(math.log(duration), 0.1))
            out.append(
                InvocationRecord(
                    run_id="r", variant=f"mem-{memory}", path="direct", t_start_ns=T0 + i * 10**8,
                    client_ms=ms + 5 + (250 if cold else 0), status="ok", request_id=f"{memory}-{i}", cold=cold,
                    init_ms=250.0 if cold else None, duration_ms=ms, billed_ms=math.ceil(ms + (250 if cold else 0)),
                    max_memory_mb=60, memory_mb=memory,
                )
            )  # fmt: skip
    return out


def test_the_decision_prices_provisioned_concurrency_in_the_runs_region():
    stats = build_stats(_decision_records())
    sparse = TrafficSettings(requests_per_month=2_600)
    recs = {r: decide(summarize(stats, architecture="x86_64", region=r), stats, sparse, DecisionSettings(), "x86_64")
            for r in ("us-east-1", "eu-west-1", "ap-southeast-1")}  # fmt: skip
    base = recs["us-east-1"].provisioned_concurrency
    assert base is not None and base.count >= 1
    # The same simulation everywhere: only the PC charge (A GB-s provisioned) and the PC duration
    # rate (B GB-s served) change, so the two regions' differences give A and B, and A is known.
    diffs = {}
    for region in ("eu-west-1", "ap-southeast-1"):
        pc = recs[region].provisioned_concurrency
        assert pc is not None and (pc.count, pc.on_demand_monthly_usd) == (base.count, base.on_demand_monthly_usd)
        diffs[region] = pc.monthly_usd - base.monthly_usd
        assert recs[region].notes[0].startswith(f"Priced for 2,600 requests a month on direct, not for the "
                                                f"benchmark's own load; {region} prices")  # fmt: skip
    (a1, b1), (a2, b2) = ((PC[r] - PC["us-east-1"], PC_DURATION[r] - PC_DURATION["us-east-1"]) for r in diffs)
    d1, d2 = diffs["eu-west-1"], diffs["ap-southeast-1"]
    provisioned_gb_s = (d1 * b2 - d2 * b1) / (a1 * b2 - a2 * b1)
    memory = recs["us-east-1"].memory.memory_mb
    assert provisioned_gb_s == pytest.approx(memory / 1024 * base.count * 24 * DAYS_PER_MONTH * 3600, rel=1e-6)
    assert "us-east-1 prices" in recs["us-east-1"].notes[0]


def test_report_terminal_and_markdown_name_the_regions_prices():
    from rich.console import Console

    from bench.report import render_html_text, render_markdown, summary_table

    summary = summarize(_records(), architecture="arm64", region="ap-southeast-1")
    words = ("ap-southeast-1 prices; arm64 provisioned concurrency, duration tiers beyond the first and "
             "API Gateway HTTP API at us-east-1's")  # fmt: skip
    assert summary.prices_statement == words
    html = render_html_text(summary, {"run_id": "r", "region": "ap-southeast-1"})
    assert words.replace("'", "&#39;") in html and "us-east-1 prices" not in html
    console = Console(width=80, record=True)
    console.print(summary_table(summary))
    terminal = " ".join(console.export_text().split())
    assert "lambench: arm64, ap-southeast-1 prices; arm64 provisioned concurrency" in terminal
    assert f"Prices: {words}" in render_markdown(summary, run_info={"run_id": "r"})


def test_results_json_records_the_region_and_reads_it_back(tmp_path):
    from bench.report import read_results_json, write_results_json

    summary = summarize(_records(), architecture="x86_64", region="eu-west-1")
    path = write_results_json(summary, {"run_id": "r"}, tmp_path / "results.json")
    data = json.loads(path.read_text())
    assert (data["region"], data["prices"]) == ("eu-west-1", "eu-west-1 prices")
    assert read_results_json(path).summary.region == "eu-west-1"
    # A file from before "region" was written: its costs were us-east-1's, and it says so.
    del data["region"], data["prices"]
    path.write_text(json.dumps(data))
    assert read_results_json(path).summary.prices_statement == "no region recorded: us-east-1 prices"


def _run_folder(run_dir, info):
    from bench.outputs import outputs_from_store, write_run_info

    with RecordStore(run_dir / "records.sqlite") as store:
        for record in _records():
            store.add(record)
    write_run_info(run_dir, info)
    return outputs_from_store(run_dir)


def test_an_old_run_folder_without_a_region_renders_at_us_east_1s_and_says_so(tmp_path):
    outputs = _run_folder(tmp_path, {"run_id": "old", "function": "f", "architecture": "x86_64"})
    results = json.loads(outputs.results_json.read_text())
    assert results["region"] is None and results["prices"] == "no region recorded: us-east-1 prices"
    assert "no region recorded: us-east-1 prices" in outputs.report_html.read_text()
    assert "no region recorded: us-east-1 prices" in outputs.markdown.read_text()
    costs = {v["path"]: v["cost_per_million_usd"] for v in results["variants"]}
    assert costs["apigw-http"] == pytest.approx(1.86667 + 1.00, rel=1e-9)


def test_a_run_folder_in_eu_west_1_is_priced_there_and_one_without_a_table_says_so(tmp_path):
    (tmp_path / "eu").mkdir()
    outputs = _run_folder(tmp_path / "eu", {"run_id": "eu", "architecture": "x86_64", "region": "eu-west-1"})
    results = json.loads(outputs.results_json.read_text())
    assert {v["path"]: v["cost_per_million_usd"] for v in results["variants"]}["apigw-http"] == pytest.approx(
        1.86667 + 1.11, rel=1e-9
    )
    assert (
        "Priced for" in results["recommendation"]["notes"][0]
        and "eu-west-1 prices" in results["recommendation"]["notes"][0]
    )
    (tmp_path / "me").mkdir()
    outputs = _run_folder(tmp_path / "me", {"run_id": "me", "architecture": "x86_64", "region": "me-central-1"})
    assert "no price table for me-central-1: us-east-1 prices" in outputs.report_html.read_text()


# ---- the gate, the budget, the Locust tab and tune ----


def test_a_cost_gate_names_its_prices_and_a_regression_names_both_when_they_differ():
    from dataclasses import replace

    from gate_synthetic import synthetic_run

    from bench.gate import evaluate, parse_gates_table

    def in_region(run, region):
        return replace(run, summary=replace(run.summary, region=region))

    absolute = parse_gates_table({"mem-512": {"usd_per_million": 0.5}}, "test.toml")
    result = next(r for r in evaluate(absolute, in_region(synthetic_run(1), "me-central-1")).results)
    assert "cost per million (no price table for me-central-1: us-east-1 prices)" in result.message
    assert {e.region for e in in_region(synthetic_run(1), "eu-west-1").variants().values()} == {"eu-west-1"}
    regression = parse_gates_table({"mem-512": {"usd_per_million_regression": 0.05}}, "test.toml")
    report = evaluate(regression, in_region(synthetic_run(2), "eu-west-1"), synthetic_run(1))
    message = next(r for r in report.results if r.variant == "mem-512").message
    assert "(baseline: no region recorded: us-east-1 prices; this run: eu-west-1 prices)" in message


def test_the_budget_prices_in_the_region_run_json_records(tmp_path):
    from bench.load.budget import Budget, BudgetWatch, spend_of
    from bench.outputs import write_run_info

    path = tmp_path / "records.sqlite"
    with RecordStore(path) as store:
        store.add(_records()[0])
    write_run_info(tmp_path, {"run_id": "r", "region": "ap-southeast-1"})
    watch = BudgetWatch(Budget(max_usd=1.0), path, {"mem-1024": 1024}, "arm64")
    assert watch.region == "ap-southeast-1"
    spend = spend_of(path, {"mem-1024": 1024}, "arm64", watch.region)
    assert spend.usd == pytest.approx(REQUEST + 0.1 * DURATION_ARM, rel=1e-12)
    # The live spend is first-tier duration and requests: both ap-southeast-1's own.
    assert spend.describe().endswith("(live cost of the records, ap-southeast-1 prices)")
    assert BudgetWatch(Budget(), tmp_path / "elsewhere" / "records.sqlite", {}, "x86_64").region is None


def test_the_locust_tab_says_whose_prices_beside_each_cost():
    from bench.load.lambdatable import VARIANT_COLUMNS, variant_rows

    rows = variant_rows(summarize(_records(), architecture="x86_64", region="ap-southeast-1"))
    assert ("prices", "Prices") in VARIANT_COLUMNS
    # A row's cost per million uses first-tier duration, requests and, on a gateway path, its price.
    assert {r["path"]: r["prices"] for r in rows} == {
        "direct": "ap-southeast-1 prices",
        "apigw-http": "ap-southeast-1 prices; API Gateway HTTP API at us-east-1's",
    }
    eu = variant_rows(summarize(_records(), architecture="x86_64", region="eu-west-1"))
    assert {r["prices"] for r in eu} == {"eu-west-1 prices"}


def test_tune_reads_the_region_from_the_functions_arn():
    from bench.tune.lifecycle import arn_region
    from bench.tune.sampler import call_usd

    assert arn_region("arn:aws:lambda:eu-west-1:123456789012:function:f") == "eu-west-1"
    assert arn_region("f") is None and arn_region(None) is None
    record = _records()[0]
    assert call_usd(record, 1024, "x86_64", "eu-west-1") == pytest.approx(REQUEST + 0.1 * DURATION, rel=1e-12)
