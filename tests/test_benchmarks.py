"""The benchmarks' single entry point knows every benchmark script."""

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def run(*args):
    command = [sys.executable, str(BENCHMARKS), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_the_listing_names_every_benchmark_script_once():
    done = run()
    assert done.returncode == 0, done.stderr
    listed = [line.split()[0] for line in done.stdout.splitlines()[2:] if line.strip()]
    scripts = {path.name for path in BENCHMARKS.glob("*.py")} - {"__main__.py", "loaders.py"}
    assert len(listed) == len(scripts) == len(set(listed))


def test_a_name_runs_its_script_and_an_unknown_one_fails():
    done = run("memory", "--help")
    assert done.returncode == 0 and "usage: bench_memory.py" in done.stdout
    done = run("no-such-benchmark")
    assert done.returncode == 2 and "no benchmark 'no-such-benchmark'" in done.stderr
