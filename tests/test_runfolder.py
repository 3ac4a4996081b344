"""Two runs started in the same second get folders of their own (they once shared one records.sqlite)."""

from __future__ import annotations

from bench.collect import runfolder


def test_runs_in_the_same_second_get_their_own_folders(tmp_path, monkeypatch):
    monkeypatch.setattr(runfolder.time, "strftime", lambda fmt, t=None: "20261201-081500")
    first = runfolder.reserve_run_dir(tmp_path / "reports")
    second = runfolder.reserve_run_dir(tmp_path / "reports")
    tune = runfolder.reserve_run_dir(tmp_path / "reports", "tune-")
    assert [first.name, second.name, tune.name] == ["20261201-081500", "20261201-081500-2", "tune-20261201-081500"]
    assert all(p.is_dir() and not any(p.iterdir()) for p in (first, second, tune))
