"""The Lambda tab of Locust's web UI, through Locust's own extension points.

- ``web_ui.template_args``: ``extended_tabs`` (a "Lambda" tab and a "Lambda runs" tab),
  ``extended_tables`` (their columns) and ``extended_csv_files`` (the live variants.csv and the
  last run's report, in Locust's "Download Data" tab).
- The ``extended_stats`` field of ``/stats/requests``, which the UI polls every 2 s: the rows,
  added by an ``after_request`` hook, as Locust's extend_web_ui example does. They are computed
  apart from the request (bench/load/session.py's LiveView), so a poll costs nothing.
- ``/swarm`` (the start form, or a script's POST): before Locust starts the test, the form's
  lambench fields are applied and the target made ready (bench/load/target.py). If it cannot
  be, Locust's own answer to a refused start (``success: false`` and a message) is returned:
  the form shows the one message, the console logs it once, and no user starts.
- Routes under ``/lambench/``: each run's report.html and variants.csv, the live CSV, and
  ``/lambench/status`` (the same data as the tab, as JSON).

One thing those points cannot carry is a link: Locust draws an extended table's cells as text.
So the index page also loads ``lambench/tab.js`` (about 40 lines), which adds a line above the
Lambda tables with the run, the recommendation, any message, and links to the reports. It only
adds that line; Locust's page is otherwise untouched.
"""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path

from .lambdatable import RUN_COLUMNS, VARIANT_COLUMNS
from .session import Session

logger = logging.getLogger(__name__)

TAB_KEY = "lambda"
RUNS_KEY = "lambda-runs"
STATIC = Path(__file__).parent / "webui_static"
_RUN_ID = re.compile(r"^[0-9A-Za-z_.-]+$")
_SERVED = ("report.html", "variants.csv", "summary.md", "results.json", "summary.json")


def _structure(columns) -> list[dict[str, str]]:
    return [{"key": key, "title": title} for key, title in columns]


def attach(environment, session: Session) -> None:
    """Add the tabs, the data, the start check and the routes to ``environment.web_ui``."""
    web_ui = environment.web_ui
    app = web_ui.app
    web_ui.template_args.update(
        extended_tabs=[{"title": "Lambda", "key": TAB_KEY}, {"title": "Lambda runs", "key": RUNS_KEY}],
        extended_tables=[
            {"key": TAB_KEY, "structure": _structure(VARIANT_COLUMNS)},
            {"key": RUNS_KEY, "structure": _structure(RUN_COLUMNS)},
        ],
        extended_csv_files=[
            {"href": "./lambench/variants.csv", "title": "Download Lambda variants CSV (the current or last run)"},
            {"href": "./lambench/report", "title": "Lambda report of the last finished run"},
        ],
    )
    _hooks(app, session)
    _routes(app, web_ui, session)


def _hooks(app, session: Session) -> None:
    from flask import jsonify, request

    @app.before_request
    def _before_swarm():
        if request.endpoint != "locust.swarm" or request.method != "POST":
            return None
        if session.environment.runner.state not in ("ready", "stopped"):
            return None  # editing a running test (user count): the run goes on
        _apply_form(session.environment.parsed_options, request.form)
        message = session.prepare()
        if message is None:
            return None
        return jsonify({"success": False, "message": f"lambench: {message}", "host": session.environment.host})

    @app.after_request
    def _extend(response):
        if request.endpoint == "locust.request_stats" and response.is_json:
            view = session.live.view()
            data = response.get_json()
            data["extended_stats"] = [
                {"key": TAB_KEY, "data": view["rows"]},
                {"key": RUNS_KEY, "data": view["runs"]},
            ]
            response.set_data(_dumps(data))
        elif request.endpoint == "locust.index" and response.status_code == 200:
            page = response.get_data(as_text=True)
            script = '<script src="./lambench/tab.js"></script>'
            response.set_data(page.replace("</body>", f"{script}\n</body>", 1))
        return response


def _dumps(data) -> str:
    import json

    return json.dumps(data)


def _apply_form(options, form) -> None:
    """The start form's lambench fields (text) onto the options, as Locust applies them after us."""
    for key in ("lambda_function", "lambda_variants", "lambda_endpoint", "lambda_payload", "lambda_client"):
        if key in form:
            setattr(options, key, form[key].strip())


def _routes(app, web_ui, session: Session) -> None:
    from flask import Blueprint, abort, jsonify, make_response, redirect, send_file

    blueprint = Blueprint("lambench", __name__, url_prefix="/lambench")

    @blueprint.route("/tab.js")
    @web_ui.auth_required_if_enabled
    def _tab_js():
        return send_file(STATIC / "tab.js", mimetype="application/javascript", max_age=0)

    @blueprint.route("/status")
    @web_ui.auth_required_if_enabled
    def _status():
        view = session.live.view()
        current = session.current
        return jsonify({**view, "running": current.run_id if current is not None else None})

    @blueprint.route("/runs/<run_id>/<name>")
    @web_ui.auth_required_if_enabled
    def _run_file(run_id: str, name: str):
        run = next((r for r in session.runs if r.run_id == run_id), None)
        if run is None or name not in _SERVED or not _RUN_ID.match(run_id):
            abort(404)
        path = run.folder / name
        if not path.is_file():
            abort(404)
        return send_file(path.resolve(), max_age=0)

    @blueprint.route("/report")
    @web_ui.auth_required_if_enabled
    def _last_report():
        finished = [r for r in session.runs if r.report is not None]
        if not finished:
            return make_response("lambench: no run has finished yet: its report is written when the test stops", 404)
        return redirect(f"runs/{finished[-1].run_id}/report.html")

    @blueprint.route("/variants.csv")
    @web_ui.auth_required_if_enabled
    def _variants_csv():
        run = session.current or (session.runs[-1] if session.runs else None)
        if run is None:
            return make_response("lambench: no run yet", 404)
        if run is not session.current and run.csv is not None:
            return send_file(run.csv.resolve(), as_attachment=True, download_name=f"{run.run_id}-variants.csv")
        return _live_csv(session, run)

    app.register_blueprint(blueprint)


def _live_csv(session: Session, run):
    """The running run's variants.csv, the report's own writer on the figures the tab shows."""
    from flask import make_response

    from ..analysis import summarize
    from ..collect import RunStats
    from ..outputs import run_region
    from ..report import write_variants_csv

    stats = session.live_stats()
    if stats is None:
        stats = RunStats()
    summary = summarize(
        RunStats.from_wire(stats.to_wire()),
        architecture=run.info.get("architecture", "x86_64"),
        memory_by_variant=run.info.get("memory_by_variant") or {},
        region=run_region(run.info),
    )
    with tempfile.TemporaryDirectory() as scratch:
        path = write_variants_csv(summary, Path(scratch) / "variants.csv", session.live.recommendation)
        body = path.read_bytes()
    response = make_response(body)
    response.headers["Content-Type"] = "text/csv"
    response.headers["Content-Disposition"] = f"attachment;filename={run.run_id}-variants.csv"
    return response
