"""lambench tune's drop-in input: APLT's execution input accepted unchanged, bad fields refused in one line."""

from __future__ import annotations

import json

import pytest

from bench.cli import main
from bench.errors import UserError
from bench.tune.input import DEFAULT_POWER_VALUES, FIELDS, all_power_values, generate_payloads, parse_input

# Every field of APLT's README-EXECUTE.md table, with a value of the documented type.
FULL = {
    "lambdaARN": "arn:aws:lambda:eu-west-1:123456789012:function:my-fn",
    "num": 10,
    "powerValues": [128, 256, 512],
    "payload": {"key": "value"},
    "parallelInvocation": True,
    "strategy": "balanced",
    "balancedWeight": 0.3,
    "autoOptimize": True,
    "autoOptimizeAlias": "prod",
    "dryRun": False,
    "preProcessorARN": "arn:aws:lambda:eu-west-1:123456789012:function:pre",
    "postProcessorARN": "arn:aws:lambda:eu-west-1:123456789012:function:post",
    "discardTopBottom": 0.1,
    "sleepBetweenRunsMs": 50,
    "disablePayloadLogs": True,
    "includeOutputResults": True,
    "onlyColdStarts": False,
    "allowedExceptions": ["HandledError"],
}


def test_every_aplt_field_is_read_with_its_meaning():
    assert set(FULL) == set(FIELDS) - {"payloadS3"}
    t = parse_input(FULL, "in.json")
    assert (t.function_name, t.region, t.num, t.power_values) == ("my-fn", "eu-west-1", 10, (128, 256, 512))
    assert (t.strategy, t.balanced_weight, t.discard_top_bottom, t.discard) == ("balanced", 0.3, 0.1, 0.1)
    assert (t.parallel, t.auto_optimize, t.auto_optimize_alias, t.dry_run) == (True, True, "prod", False)
    assert (t.pre_processor_arn, t.post_processor_arn) == (FULL["preProcessorARN"], FULL["postProcessorARN"])
    assert (t.sleep_between_runs_ms, t.disable_payload_logs, t.include_output_results) == (50, True, True)
    assert t.allowed_exceptions == ("HandledError",)


def test_aplt_defaults():
    t = parse_input({"lambdaARN": "fn", "num": "5"})  # APLT parses num with parseInt
    assert t.num == 5 and t.power_values == DEFAULT_POWER_VALUES == (128, 256, 512, 1024, 1536, 3008)
    assert (t.strategy, t.balanced_weight, t.discard_top_bottom, t.parallel) == ("cost", 0.5, 0.2, False)
    assert t.function_name == "fn" and t.region is None


def test_all_power_values_and_cold_starts_keep_every_call():
    t = parse_input({"lambdaARN": "fn", "num": 5, "powerValues": "ALL", "onlyColdStarts": True})
    assert t.power_values == all_power_values()
    assert t.power_values[0] == 128 and t.power_values[-1] == 3008 and len(t.power_values) == 46
    assert t.discard == 0.0  # executor.js: no trimming when every call is cold


@pytest.mark.parametrize(
    "change, message",
    [
        ({"payloadS3": "s3://bucket/key"}, "payloadS3"),
        ({"lambdaArn": "fn"}, "lambdaArn: not a field"),
        ({"num": 4}, "num = 4: required"),
        ({"num": None}, "num = null"),
        ({"lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:fn:alias"}, "lambdaARN"),
        ({"powerValues": [64]}, "powerValues = [64]"),
        ({"powerValues": [128, 128]}, "distinct"),
        ({"strategy": "fastest"}, 'strategy = "fastest": must be one of cost, speed, balanced'),
        ({"balancedWeight": 2}, "balancedWeight = 2: must be from 0 to 1"),
        ({"discardTopBottom": 0.5}, "discardTopBottom = 0.5: must be from 0 to 0.4"),
        ({"parallelInvocation": "yes"}, 'parallelInvocation = "yes": must be true or false'),
        ({"allowedExceptions": "HandledError"}, "allowedExceptions"),
        ({"autoOptimizeAlias": "123"}, "autoOptimizeAlias"),
        ({"payload": [{"payload": {"a": 1}, "weight": 1}] * 6}, "payload"),  # 6 weighted payloads, num 5
    ],
)
def test_bad_fields_are_one_user_error_naming_the_field(change, message):
    raw = {"lambdaARN": "fn", "num": 5} | change
    with pytest.raises(UserError) as caught:
        parse_input(raw, "in.json")
    assert str(caught.value).startswith("in.json: ") and message in str(caught.value)


def test_weighted_payloads_fill_in_order_by_weight():
    # APLT's README-ADVANCED example: weights 5, 15, 30 over num 50 -> 5, 15 and 30 calls.
    weighted = [{"payload": {"k": i}, "weight": w} for i, w in enumerate((5, 15, 30))]
    payloads = generate_payloads(50, weighted)
    assert [payloads.count(json.dumps({"k": i}, separators=(",", ":")).encode()) for i in range(3)] == [5, 15, 30]
    assert payloads[:5] == [b'{"k":0}'] * 5 and payloads[-1] == b'{"k":2}'
    # floor(1 x 10 / 3) = 3 and 3, the last fills the rest: 4.
    thirds = generate_payloads(
        10, [{"payload": "a", "weight": 1}, {"payload": "b", "weight": 1}, {"payload": "c", "weight": 1}]
    )
    assert thirds == [b'"a"'] * 3 + [b'"b"'] * 3 + [b'"c"'] * 4


def test_payload_conversion_is_aplts():
    assert generate_payloads(5, '{"already": "json"}')[0] == b'{"already": "json"}'
    assert generate_payloads(5, "just a string")[0] == b'"just a string"'
    assert generate_payloads(5, None)[0] == b""
    assert generate_payloads(5, [1, 2])[0] == b"[1,2]"  # a list that is not weighted is a payload


def test_cli_refuses_bad_input_in_one_line_with_exit_2(tmp_path, capsys):
    path = tmp_path / "in.json"
    path.write_text(json.dumps({"lambdaARN": "fn", "num": 10, "payloadS3": "s3://b/k"}))
    assert main(["tune", str(path), "--endpoint", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"lambench: error: {path}: payloadS3 = ")
    path.write_text("{not json")
    assert main(["tune", str(path)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
