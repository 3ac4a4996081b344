# The two commands of the README: `make run` (a benchmark on the bundled emulator) and
# `make test` (the test suite; .ci/run calls exactly this). Both make .venv themselves.

PYTHON ?= python3
VENV   := .venv
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint perf perf-tune fidelity browser clean

run: $(STAMP)
	$(VENV)/bin/lambench run

# Only the .venv, for scripts that call .venv/bin/lambench themselves (docs/ci/github-actions.yml).
install: $(STAMP)

test: $(STAMP) browser lint
	$(VENV)/bin/pytest

# Lint, format check and type check: part of `make test`, so CI runs them.
lint: $(STAMP)
	$(VENV)/bin/ruff check bench tests locustfiles targets
	$(VENV)/bin/ruff format --check bench tests locustfiles targets
	$(VENV)/bin/mypy

# Benchmarks: print figures measured side by side in one run; nothing is asserted about time.
perf: $(STAMP)
	$(VENV)/bin/python tests/perf/percentiles.py
	$(VENV)/bin/python tests/perf/collector.py
	$(VENV)/bin/python tests/perf/loadgen.py
	$(VENV)/bin/python tests/perf/analysis.py

# lambench tune's adaptive mode against aws-lambda-power-tuning's protocol (num 10 and 50), 20 repeats
# on five emulator workloads, scored against tests/perf/tune_truth.json; about 20 minutes.
perf-tune: $(STAMP)
	$(VENV)/bin/python tests/perf/tune_bench.py --repeats 20

fidelity: $(STAMP)
	$(VENV)/bin/python tests/perf/fidelity.py
	$(VENV)/bin/python tests/perf/fidelity_appetite.py

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "lambench needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The report's browser test uses Debian's chromium; install it where we may (root with apt).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: no chromium and no root apt-get: the browser test will be skipped"; fi; }

clean:
	rm -rf $(VENV) reports/*/
