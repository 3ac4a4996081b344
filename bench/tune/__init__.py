"""Power tuning: ``lambench tune``, a drop-in for aws-lambda-power-tuning (APLT) that stops early.

input.py reads APLT's execution input; lifecycle.py publishes a version per size (per sample,
with onlyColdStarts) and puts the function back; invoke.py and sampler.py spend the calls;
exhaustive.py is APLT's protocol and figures; model.py fits duration against memory; adaptive.py
decides where the next calls go and when to stop; output.py builds APLT's output object;
command.py ties them to the command line.
"""

from bench.tune.command import TuneRequest, main, request_from_args, run_tune
from bench.tune.input import TuneInput, parse_input

__all__ = ["TuneInput", "TuneRequest", "main", "parse_input", "request_from_args", "run_tune"]
