"""Every benchmark by name: ``python benchmarks NAME [OPTIONS]``.

``python benchmarks`` lists them; ``python benchmarks NAME --help`` shows a
benchmark's options. Each is also a script of its own
(``python benchmarks/SCRIPT.py``), and writes its tables to
``benchmarks/results/``.
"""

import ast
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).parent
BENCHMARKS = {
    "headline": "run.py",
    "robustness": "robustness.py",
    "tables": "bench_tables.py",
    "settings": "bench_settings.py",
    "digits": "bench_digits.py",
    "cleaning": "bench_cleaning.py",
    "ranking": "bench_ranking.py",
    "noise-rates": "bench_noise_rates.py",
    "defaults": "bench_defaults.py",
    "images": "bench_images.py",
    "finetune": "bench_finetune.py",
    "memory": "bench_memory.py",
    "scaling": "bench_scaling.py",
    "skorch-suite": "skorch_suite.py",
}


def summary(script):
    """First line of a script's docstring, read without importing it."""
    return ast.get_docstring(ast.parse((HERE / script).read_text())).splitlines()[0]


def main(argv):
    name = argv[0] if argv else None
    if name not in BENCHMARKS:
        if name not in (None, "-h", "--help"):
            print(f"no benchmark {name!r}.\n", file=sys.stderr)
        print(__doc__.splitlines()[0] + "\n")
        for known, script in BENCHMARKS.items():
            print(f"  {known:<12} {summary(script)}")
        return 0 if name in (None, "-h", "--help") else 2
    script = str(HERE / BENCHMARKS[name])
    sys.argv = [script, *argv[1:]]
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
