"""The command line, run as a user runs it: in a subprocess."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine

from skwrongevent import inject_label_noise


def run(*args):
    command = [sys.executable, "-m", "skwrongevent", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def wine_csv(tmp_path_factory):
    """Wine with named classes, 10% wrong labels, a text column and missing values."""
    table = load_wine(as_frame=True).frame
    names = np.array(["barolo", "grignolino", "barbera"])
    labels, is_wrong = inject_label_noise(names[table.pop("target")], 0.1, random_state=0)
    table["colour"] = np.where(table["alcohol"] > 13, "dark", "light")
    table.loc[3, "colour"] = None
    table.loc[5, "alcohol"] = np.nan
    table["cultivar"] = labels
    path = tmp_path_factory.mktemp("cli") / "wine.csv"
    table.to_csv(path, index=False)
    return path, is_wrong


def test_find_issues_writes_a_report_keyed_by_row_that_joins_back(wine_csv, tmp_path):
    path, is_wrong = wine_csv
    out = tmp_path / "issues.csv"
    done = run("find-issues", path, "--label", "cultivar", "--out", out, "--epochs", 20)
    assert done.returncode == 0, done.stderr
    assert "estimated noise rate" in done.stdout and "classes most affected" in done.stdout
    report = pd.read_csv(out, index_col="row")
    data = pd.read_csv(path)
    assert sorted(report.index) == list(range(len(data)))  # every row, once
    # Most likely wrong first.
    assert (np.diff(report["label_quality"].to_numpy()) >= 0).all()
    assert (report["given_label"] == data.loc[report.index, "cultivar"]).all()
    flagged = report.index[report["is_label_issue"]]
    assert is_wrong[flagged].mean() > 0.6 and is_wrong[flagged].sum() >= 0.8 * is_wrong.sum()


def test_clean_writes_the_rows_kept_with_every_column(wine_csv, tmp_path):
    path, is_wrong = wine_csv
    out = tmp_path / "cleaned.csv"
    done = run("clean", path, "--label", "cultivar", "--out", out, "--epochs", 20)
    assert done.returncode == 0, done.stderr
    data, cleaned = pd.read_csv(path), pd.read_csv(out)
    assert list(cleaned.columns) == list(data.columns)
    assert 0.8 * len(data) < len(cleaned) < len(data)
    assert f"wrote {len(cleaned)} rows" in done.stdout


@pytest.mark.parametrize(
    "content, args, message",
    [
        ("a,b\n1,x\n2,y\n", ["--label", "species"], "no column 'species'"),
        ("a,b\n1,x\n2,x\n", ["--label", "b"], "one class only"),
        ("", ["--label", "b"], "is empty"),
        ("a,b\n1,x\n,y\n", ["--label", "a"], "empty in 1 rows"),
        (
            "id,a,b\n" + "".join(f"r{i},{i % 3},{i % 2}\n" for i in range(20)),
            ["--label", "b"],
            "--drop id",
        ),
        (
            "id,a,b\n" + "".join(f"{19 - i},{i % 3},{i % 2}\n" for i in range(20)),
            ["--label", "b"],
            "column 'id' numbers the rows (0 to 19, each once)",
        ),
        ("a,b\n1,x\n2,y\n", ["--label", "b", "--out", "no/such/folder/r.csv"], "no folder"),
    ],
)
def test_bad_input_gets_one_line_and_a_nonzero_exit(tmp_path, content, args, message):
    path = tmp_path / "data.csv"
    path.write_text(content)
    done = run("find-issues", path, *args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1


def test_zero_epochs_is_refused_before_reading_the_file():
    done = run("find-issues", "no-such-file.csv", "--label", "b", "--epochs", "0")
    assert done.returncode == 2 and "--epochs: must be at least 1, got 0" in done.stderr


def test_help_names_both_commands():
    done = run("--help")
    assert done.returncode == 0
    assert "find-issues" in done.stdout and "clean" in done.stdout
