"""The Lambda tab of a Locust master with two workers: the merged view is the sum of the workers'.

A real master (web UI on 127.0.0.1) and two real workers, against this test's own emulator. The
test is started and stopped through the master's web UI endpoints; the tab's rows (the master's
merge of what the workers reported) must equal the figures of the two workers' own record files
added together, and every invocation the emulator served must be in them.
"""

from __future__ import annotations

import subprocess
import sys

from webui_driver import LOCUSTFILE, LocustUI, free_port, wait_until

from bench.analysis import summarize
from bench.collect import RunStats, read_records, stats_of_store, worker_stores
from bench.load.lambdatable import variant_rows


def test_the_masters_tab_is_the_sum_of_its_workers(own_emulator, tmp_path):
    emulator, _client, deploy = own_emulator()
    spec, variants = deploy("hello", (128, 512))
    master_port = free_port()
    ui = LocustUI(
        tmp_path,
        "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(master_port),
        "--stop-timeout", "30", "--lambda-endpoint", emulator.url, "--lambda-function", spec.name,
        "--lambda-variants", ",".join(v.name for v in variants), "--lambench-reports", str(tmp_path / "reports"),
        log_name="master.log",
    )  # fmt: skip
    workers = []
    try:
        for i in range(2):
            with open(tmp_path / f"worker-{i}.log", "w") as log:
                workers.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "locust",
                            "-f",
                            LOCUSTFILE,
                            "--worker",
                            "--master-host",
                            "127.0.0.1",
                            "--master-port",
                            str(master_port),
                        ],
                        cwd=tmp_path,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                    )  # fmt: skip
                )
        wait_until(lambda: ui.get("stats/requests").get("worker_count") == 2, "two workers", ui)
        assert ui.post("swarm", {"user_count": 4, "spawn_rate": 4})["success"]
        wait_until(lambda: sum(r["invocations"] for r in ui.extended("lambda")) >= 40, "invocations in the tab", ui)
        ui.post("stop")
        runs = wait_until(
            lambda: [r for r in ui.get("lambench/status")["runs"] if r["state"] == "finished"], "the report", ui
        )
        rows = ui.extended("lambda")
    finally:
        ui.stop()
        for worker in workers:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()

    folder = tmp_path / "reports" / runs[0]["run"]
    per_worker = worker_stores(folder)
    assert len(per_worker) == 2 and all(read_records(p) for p in per_worker), "both workers took part"
    added = RunStats()
    for path in per_worker:
        added.merge(stats_of_store(path))
    # The run records its region (Locust's --lambda-region, us-east-1 by default): the tab prices there.
    expected = variant_rows(summarize(added, architecture="x86_64", region="us-east-1"))

    def figures(table):
        return [{k: v for k, v in row.items() if k != "recommendation"} for row in table]

    assert figures(rows) == figures(expected)
    assert {r["variant"] for r in rows} == {v.name for v in variants}
    assert sum(r["invocations"] for r in rows) == added.records == emulator.info()["served"]["invocations"]
    assert runs[0]["report"] and (folder / "report.html").is_file()
