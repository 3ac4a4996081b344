"""The HTML report in a real browser: headless Debian Chromium, driven over the DevTools protocol.

No new dependency: Chromium speaks the DevTools protocol (CDP) over a pipe when started with
--remote-debugging-pipe (JSON messages separated by NUL bytes, commands on its fd 3, answers
and events on its fd 4), so a small client needs only the standard library. The test records
every console message, page error, log entry and network request the page causes, lays the page
out at 1280 px, and asks the browser's own layout whether the report holds: every chart drawn,
the recommendation sentence shown, nothing wider than the window, in light, dark and print.

Run as a script, it writes the README's screenshot:
``.venv/bin/python tests/test_report_browser.py docs/report.png``.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_report import RUN_INFO, RUN_INFO_12, four_variants, full_recommendation, twelve_rows  # noqa: E402

from bench.report import render_html  # noqa: E402

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--remote-debugging-pipe",
)
WIDTH = 1280
# Every chart a full recommendation draws (one latency CDF per path of the run).
CHART_IDS = ("chart-tuning", "chart-coldshare", "chart-cost", "chart-cdf-direct", "chart-cdf-apigw-http",
             "chart-cdf-apigw-rest", "chart-timeline")  # fmt: skip
TIMEOUT_S = 60.0  # only stops a hung browser; nothing here measures time


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("/usr/bin/chromium")


class Browser:
    """One headless Chromium and one page, over the DevTools pipe; events kept in order."""

    def __init__(self, chromium: str, profile: Path) -> None:
        # The shell gives Chromium its DevTools pipe as fds 3 and 4, which subprocess cannot place.
        command = [chromium, *FLAGS, f"--user-data-dir={profile}", "about:blank"]
        self.process = subprocess.Popen(
            ["/bin/sh", "-c", 'exec "$@" 3<&0 4>&1 0</dev/null 1>/dev/null', "sh", *command],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.events: list[dict[str, Any]] = []
        self._buffer = b""
        self._id = 0
        self.session = ""
        try:
            target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.call(f"{domain}.enable", session=True)
        except BaseException:
            self.process.kill()  # ours: a browser that never answered must not outlive the test
            self.process.wait()
            raise

    def _send(self, method: str, params: dict[str, Any] | None, session: bool) -> int:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\0")
        self.process.stdin.flush()
        return self._id

    def _messages(self, deadline: float) -> Iterator[dict[str, Any]]:
        assert self.process.stdout is not None
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                yield json.loads(raw)
            ready, _, _ = select.select([self.process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self.process.stdout.fileno(), 1 << 16)
            if not chunk:
                raise EOFError("Chromium closed its DevTools pipe")
            self._buffer += chunk

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: bool = False) -> dict[str, Any]:
        wanted = self._send(method, params, session)
        for message in self._messages(time.monotonic() + TIMEOUT_S):
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)
        raise AssertionError("unreachable")

    def wait_for(self, event: str) -> dict[str, Any]:
        for message in self.events:
            if message.get("method") == event:
                return message
        for message in self._messages(time.monotonic() + TIMEOUT_S):
            self.events.append(message)
            if message.get("method") == event:
                return message
        raise AssertionError("unreachable")

    def viewport(self, width: int, height: int) -> None:
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        self.call("Emulation.setDeviceMetricsOverride", metrics, session=True)

    def open(self, url: str, *, width: int = WIDTH, height: int = 900, media: str = "", dark: bool = False) -> None:
        self.viewport(width, height)
        scheme = [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]
        self.call("Emulation.setEmulatedMedia", {"media": media, "features": scheme}, session=True)
        self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
        self.call("Page.navigate", {"url": url}, session=True)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, *, height: int) -> Path:
        self.viewport(WIDTH, height)
        self.evaluate("document.documentElement.style.overflow = 'hidden'")  # no scrollbar in the picture
        data = self.call("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions and log entries at warning or error."""
        found = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
                found.append(f"console {params['type']}: {params.get('args')}")
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params.get('exceptionDetails')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
                found.append(f"log {params['entry']['level']}: {params['entry'].get('text')}")
        return found

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def close(self) -> None:
        with suppress(EOFError, TimeoutError, RuntimeError, BrokenPipeError):
            self.call("Browser.close")
        try:
            self.process.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def browser(chromium: str, profile: Path) -> Iterator[Browser]:
    b = Browser(chromium, profile)
    try:
        yield b
    finally:
        b.close()


def write_report(folder: Path) -> Path:
    summary = twelve_rows()
    return render_html(summary, RUN_INFO_12, folder / "report.html", full_recommendation(summary))


@pytest.fixture
def chromium() -> str:
    path = find_chromium()
    if path:
        return path
    reason = "chromium is not installed (Debian: apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must install it")
    pytest.skip(reason)


# Pairs of <text> in one chart whose boxes, as the browser laid them out, overlap by more than
# a pixel each way: labels that overprint.
OVERLAPS = """(() => {
  const out = [];
  for (const svg of document.querySelectorAll('svg.chart')) {
    const boxes = [...svg.querySelectorAll('text')].map(t => [t, t.getBoundingClientRect()])
      .filter(([t, r]) => r.width > 0 && r.height > 0);
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const [a, ra] = boxes[i], [b, rb] = boxes[j];
      const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
      const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
      if (w > 1 && h > 1) out.push(svg.closest('figure').id + ': ' + a.textContent + ' / ' + b.textContent);
    }
  }
  return out;
})()"""
CHARTS = """[...document.querySelectorAll('figure.chart-box')].map(f => {
  const svg = f.querySelector('svg.chart'), r = svg ? svg.getBoundingClientRect() : null;
  return {id: f.id, width: r ? r.width : 0, height: r ? r.height : 0, right: r ? r.right : 0,
          marks: svg ? svg.querySelectorAll('rect, polyline, circle, line, path').length : 0};
})"""
# Table wrappers whose content is wider than they are (they would scroll, hiding columns).
OVERFLOWING_TABLES = """[...document.querySelectorAll('.table-wrap')]
  .filter(w => w.scrollWidth > w.clientWidth).map(w => w.firstElementChild.id)"""
VISIBLE = """(selector => {
  const e = document.querySelector(selector);
  if (!e) return false;
  const r = e.getBoundingClientRect(), s = getComputedStyle(e);
  return r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= innerWidth && s.visibility === 'visible'
    && parseFloat(s.opacity) > 0 && e.checkVisibility({opacityProperty: true, visibilityProperty: true});
})"""


def luminance(css_colour: str) -> float:
    """Relative luminance (0 black .. 1 white) of a computed "rgb(r, g, b)" colour."""
    r, g, b = (int(x) / 255 for x in css_colour[css_colour.index("(") + 1 : css_colour.index(")")].split(",")[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_report_with_a_recommendation_in_chromium(chromium, tmp_path):
    summary = twelve_rows()
    rec = full_recommendation(summary)
    report = render_html(summary, RUN_INFO_12, tmp_path / "report.html", rec)
    with browser(chromium, tmp_path / "profile") as b:
        b.open(report.as_uri(), width=WIDTH)
        assert b.problems() == []
        assert b.requests() == [report.as_uri()], "the report asked for something besides itself"
        charts = {c["id"]: c for c in b.evaluate(CHARTS)}
        assert set(charts) == set(CHART_IDS)
        for chart in charts.values():
            assert chart["width"] > 300 and chart["height"] > 200 and chart["right"] <= WIDTH, chart
            assert chart["marks"] > 10, chart  # drawn, not an empty frame
        assert b.evaluate(OVERLAPS) == []
        # The recommendation is the first thing on the page, in full.
        sentence = b.evaluate("document.getElementById('memory-pick').innerText")
        assert sentence.startswith("Memory: 1024 MB (slo strategy), $") and sentence.endswith("feasible size run.")
        assert b.evaluate(f"{VISIBLE}('#memory-pick')") and b.evaluate(f"{VISIBLE}('#pc-pick')")
        assert b.evaluate("document.getElementById('pc-pick').getBoundingClientRect().bottom") < 900
        # Twelve rows hold at 1280 px: nothing wider than the window, no table scrolling its columns away.
        assert b.evaluate("document.querySelectorAll('#variants tr[data-variant]').length") == 12
        assert b.evaluate("document.documentElement.scrollWidth") <= WIDTH
        assert b.evaluate(OVERFLOWING_TABLES) == []
        assert b.evaluate(f"{VISIBLE}('#variants tr.recommended .badge.recommended')")
        assert b.evaluate(f"{VISIBLE}('#variants tr.recommended td[data-col=monthly]')")
        # The overlap probe can fail: a copy of a chart's label laid over it is caught.
        b.evaluate("(() => { const t = document.querySelector('#chart-cost svg text.label');"
                   " t.parentNode.appendChild(t.cloneNode(true)); })()")  # fmt: skip
        assert b.evaluate(OVERLAPS) == ["chart-cost: 512 MB / 512 MB"]
        # ... and so can the network and console checks: an image added to the page is a request,
        # which the report's Content-Security-Policy blocks and the console reports.
        b.evaluate("document.body.appendChild(Object.assign(new Image(), {src: 'http://127.0.0.1:9/x.png'}))")
        b.evaluate("new Promise(r => setTimeout(r, 200))")
        assert b.requests() == [report.as_uri(), "http://127.0.0.1:9/x.png"]
        assert [p for p in b.problems() if "Content Security Policy" in p]


def test_report_reads_in_dark_mode_and_prints_light_and_whole(chromium, tmp_path):
    report = write_report(tmp_path)
    with browser(chromium, tmp_path / "profile") as b:
        b.open(report.as_uri(), dark=True)
        body = b.evaluate("[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]")
        assert luminance(body[0]) < 0.15 and luminance(body[1]) > 0.7, body
        label = b.evaluate("getComputedStyle(document.querySelector('#chart-cost svg text.label')).fill")
        assert luminance(label) > 0.7, "chart labels follow the dark page"
        assert b.problems() == []
        # Printed, it is the light page, whatever the screen's scheme, on a landscape page.
        b.open(report.as_uri(), dark=True, media="print", width=980)
        body = b.evaluate("[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]")
        assert luminance(body[0]) > 0.95 and luminance(body[1]) < 0.1, body
        assert b.evaluate("document.documentElement.scrollWidth") <= 980
        assert b.evaluate(OVERFLOWING_TABLES) == []
        pdf = b.call("Page.printToPDF", {"preferCSSPageSize": True}, session=True)["data"]
        assert base64.b64decode(pdf)[:5] == b"%PDF-"
        assert b.problems() == [] and set(b.requests()) == {report.as_uri()}  # opened twice, nothing else


def test_report_without_a_recommendation_in_chromium(chromium, tmp_path):
    report = render_html(four_variants(), RUN_INFO, tmp_path / "report.html")
    with browser(chromium, tmp_path / "profile") as b:
        b.open(report.as_uri())
        assert b.problems() == [] and b.requests() == [report.as_uri()]
        assert [c["id"] for c in b.evaluate(CHARTS)] == ["chart-tuning", "chart-cost", "chart-cdf-direct",
                                                         "chart-timeline"]  # fmt: skip
        assert b.evaluate("document.getElementById('headline').innerText").startswith("Cheapest: mem-512 (512 MB")
        assert b.evaluate(f"{VISIBLE}('#variants tr.cheapest .badge.cheapest')")
        assert b.evaluate(OVERLAPS) == []
        png = b.screenshot(tmp_path / "report.png", height=1200)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


if __name__ == "__main__":
    found = find_chromium()
    if not found:
        sys.exit("chromium is not installed")
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/report.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    import tempfile

    with tempfile.TemporaryDirectory() as scratch, browser(found, Path(scratch) / "profile") as b:
        b.open(write_report(Path(scratch)).as_uri())
        b.screenshot(out, height=int(sys.argv[2]) if len(sys.argv) > 2 else 1560)
    print(out)
