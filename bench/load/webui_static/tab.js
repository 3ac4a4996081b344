// lambench: one line above Locust's "Lambda" tables (bench/load/webui.py says why): the run, the
// recommendation, the message that kept a test from starting, and links to each run's report.
// It adds that line only, outside the table Locust draws, and removes it on Locust's other tabs.
(() => {
  const TABS = ["lambda", "lambda-runs"];
  let status = null;

  const line = () => {
    const box = document.createElement("div");
    box.id = "lambench-status";
    box.style.cssText = "margin:0 0 12px;font:14px/1.6 system-ui,sans-serif";
    if (!status) return box;
    const add = (text, style) => {
      const span = document.createElement("span");
      span.textContent = text;
      if (style) span.style.cssText = style;
      box.appendChild(span);
      return span;
    };
    if (status.message) add(status.message, "display:block;color:#d32f2f;font-weight:600");
    const latest = status.runs[0];
    if (latest) {
      add(`Run ${latest.run} · ${latest.state} · recommendation: ${latest.recommendation || "–"}`, "display:block");
    } else if (!status.message) {
      add("No run yet: start a test; each start is a run with its own report.");
    }
    const reports = status.runs.filter((r) => r.report);
    if (reports.length) add("Reports: ");
    reports.forEach((r, i) => {
      const a = document.createElement("a");
      a.href = "./" + r.report;
      a.target = "_blank";
      a.rel = "noopener";
      a.className = "lambench-report";
      a.textContent = r.run;
      a.style.color = "inherit";
      if (i) add(", ");
      box.appendChild(a);
    });
    return box;
  };

  const place = () => {
    const tab = new URLSearchParams(location.search).get("tab");
    const old = document.getElementById("lambench-status");
    const table = TABS.includes(tab) ? document.querySelector("table") : null;
    if (!table) {
      if (old) old.remove();
      return;
    }
    const anchor = table.closest(".MuiTableContainer-root") || table;
    const fresh = line();
    if (old && old.nextElementSibling === anchor && old.innerHTML === fresh.innerHTML) return;
    if (old) old.remove();
    anchor.parentNode.insertBefore(fresh, anchor);
  };

  const poll = async () => {
    try {
      const response = await fetch("./lambench/status", { cache: "no-store" });
      if (response.ok) status = await response.json();
    } catch (e) {
      // Locust has quit: keep the last line
    }
    place();
  };

  new MutationObserver(place).observe(document.getElementById("root"), { childList: true, subtree: true });
  poll();
  setInterval(poll, 2000);
})();
