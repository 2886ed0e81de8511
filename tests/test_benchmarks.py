"""The benchmark harness, end to end on its tiny suite."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def tiny_records(tmp_path_factory):
    folder = tmp_path_factory.mktemp("records")
    command = [sys.executable, str(BENCHMARKS), "run", "tiny", "--results", str(folder)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return folder, done.stdout


def test_a_suite_appends_one_record_per_fit(tiny_records):
    folder, printed = tiny_records
    records = [json.loads(line) for line in (folder / "tiny.jsonl").read_text().splitlines()]
    assert [r["method"] for r in records] == ["plain", "ours"]
    for record in records:
        assert record.keys() >= {"suite", "case", "noise", "seed", "metrics", "seconds", "commit"}
        assert 0.5 < record["metrics"]["accuracy"] <= 1 and record["seconds"] > 0
    assert records[1]["metrics"]["auroc"] > 0.9  # ours ranks the wrong labels
    assert "| digits | symmetric 40% |" in printed


def test_report_fills_the_markers_and_check_fails_until_it_has(tiny_records, monkeypatch):
    folder, _ = tiny_records
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import report

    page = folder / "page.md"
    page.write_text("# Page\n\n<!-- suite:tiny -->\nstale\n<!-- /suite:tiny -->\n\nend\n")
    assert report.main(check=True, pages=[page], folder=folder) == 1
    assert page.read_text().count("stale") == 1  # check mode writes nothing
    assert report.main(pages=[page], folder=folder) == 0
    text = page.read_text()
    assert "stale" not in text and "| digits | symmetric 40% |" in text and text.endswith("end\n")
    assert report.main(check=True, pages=[page], folder=folder) == 0
