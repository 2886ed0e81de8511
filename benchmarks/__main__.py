"""skwrongevent's benchmarks: ``python benchmarks [run SUITE | report [--check]]``.

``python benchmarks`` lists the suites. ``run SUITE`` runs one and appends
its records to ``benchmarks/results/SUITE.jsonl``; ``report`` rebuilds every
published table (this folder's README and the project README) from the
records, and ``report --check`` fails when a published table differs from
what the records give.
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import harness  # noqa: E402
import report  # noqa: E402
from suites import SUITES  # noqa: E402

# Suites that measure processes (memory, several workers, another test suite) run as scripts.
SCRIPTS = {"memory": "memory.py", "scaling": "scaling.py", "skorch": "skorch_suite.py"}


def run(args):
    suite = SUITES[args.suite]
    cases = [c for c in suite.cases(args.quick) if not args.cases or c.name in args.cases]
    methods = args.methods or suite.methods
    fits = [
        (case, noise, method, seed)
        for case in cases
        for noise in case.noises
        for seed in case.seed_values
        for method in methods
    ]
    fits.sort(key=lambda fit: fit[2] != "cleanlab")  # the slowest first keeps workers busy
    print(f"{args.suite}: {len(fits)} fits", file=sys.stderr)
    if args.jobs == 1:
        records = [harness.run_fit(args.suite, *fit, threads=args.threads) for fit in fits]
    else:
        from joblib import Parallel, delayed

        os.environ.setdefault("OMP_NUM_THREADS", "1")
        records = Parallel(n_jobs=args.jobs, verbose=5)(
            delayed(harness.run_fit)(args.suite, *fit, threads=1) for fit in fits
        )
    harness.append(args.suite, records, args.results)
    failed = [r for r in records if "error" in r["metrics"]]
    for record in failed:
        print(f"failed: {record['case']} / {record['noise']} / {record['method']}: "
              f"{record['metrics']['error']}", file=sys.stderr)  # fmt: skip
    print(report.section(args.suite, harness.read(args.suite, args.results)))
    return 1 if failed else 0


def main(argv):
    if argv and argv[0] in SCRIPTS:
        import runpy

        sys.argv = [SCRIPTS[argv[0]], *argv[1:]]
        runpy.run_path(str(Path(__file__).parent / SCRIPTS[argv[0]]), run_name="__main__")
        return 0
    parser = argparse.ArgumentParser(prog="python benchmarks", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    runner = commands.add_parser("run", help="run a suite and append its records")
    runner.add_argument("suite", choices=SUITES)
    runner.add_argument("--quick", action="store_true", help="a cheaper subset of the cases")
    runner.add_argument("--jobs", type=int, default=1, help="fits in parallel, one thread each")
    runner.add_argument("--threads", type=int, default=None, help="torch threads, with --jobs 1")
    runner.add_argument("--cases", nargs="+", help="only these cases")
    runner.add_argument("--methods", nargs="+", help='these methods, e.g. "ours (strength=1.0)"')
    runner.add_argument("--results", default=None, help="folder of the records")
    reporter = commands.add_parser("report", help="rebuild the published tables from the records")
    reporter.add_argument("--check", action="store_true", help="fail if a table is out of date")
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args)
    if args.command == "report":
        return report.main(check=args.check)
    print(__doc__.splitlines()[0] + "\n\nsuites:")
    for name, suite in SUITES.items():
        print(f"  {name:<12} {suite.question}")
    for name, script in SCRIPTS.items():
        print(f"  {name:<12} (script {script}) {report.script_question(script)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
