"""skorch's own tests, run with each of our classifiers in place of NeuralNetClassifier.

skorch's installed test files are copied to a temporary folder and run with
a pytest plugin that replaces ``skorch.NeuralNetClassifier`` by a subclass
of ours with skorch's defaults (``NLLLoss``, ``SGD`` at 0.01, 10 epochs, a
20% validation split, ``verbose=1``, the CPU), which the tests rely on.
docs/skorch.md says why the remaining failures differ on purpose. Needs
``flaky``, which skorch's tests import.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import skorch

COMMAND = "python benchmarks skorch"
FILES = [
    "test_net.py",
    "test_classifier.py",
    "callbacks",
    "test_helper.py",
    "test_scoring.py",
    "test_doctor.py",
]
PLUGIN = """
import os

import skorch
import torch
from skorch.dataset import ValidSplit

import skwrongevent

base = getattr(skwrongevent, os.environ["SKWRONGEVENT_CLASS"])


class NeuralNetClassifier(base):
    def __init__(self, module=None, *, criterion=torch.nn.NLLLoss, optimizer=torch.optim.SGD,
                 lr=0.01, max_epochs=10, train_split=ValidSplit(5), device="cpu", verbose=1,
                 **kwargs):
        super().__init__(module, criterion=criterion, optimizer=optimizer, lr=lr,
                         max_epochs=max_epochs, train_split=train_split, device=device,
                         verbose=verbose, **kwargs)


skorch.NeuralNetClassifier = NeuralNetClassifier
"""


def run(class_name, folder, extra):
    path = os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, SKWRONGEVENT_CLASS=class_name, PYTHONPATH=path)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "swap_plugin",
        "-q",
        "-rfE",
        "--tb=no",
        "-p",
        "no:cacheprovider",
        "-c",
        os.devnull,
        "--rootdir",
        str(folder),
        "-W",
        "ignore",
        *(str(folder / "tests" / name) for name in FILES),
        *extra,
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=folder)
    lines = result.stdout.strip().splitlines()
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", lines[-1] if lines else "")}
    failures = [line.split(" - ")[0] for line in lines if line.startswith(("FAILED", "ERROR"))]
    return counts, failures


def report(records):
    lines = ["| class | passed | failed | errors | skipped |", "|---|---|---|---|---|"]
    for r in records:
        m = r["metrics"]
        lines.append(
            f"| {r['method']} | {m.get('passed', 0)} | {m.get('failed', 0)} | "
            f"{m.get('errors', m.get('error', 0))} | {m.get('skipped', 0)} |"
        )
    return "\n".join(lines)


def main():
    import argparse

    import harness

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", nargs="+", default=["NetClassifier", "WrongEventClassifier"])
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest, e.g. -k cuda")
    args = parser.parse_args()
    records = []
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        shutil.copytree(Path(skorch.__file__).parent / "tests", folder / "tests")
        (folder / "swap_plugin.py").write_text(PLUGIN)
        for class_name in args.classes:
            counts, failures = run(class_name, folder, args.pytest_args)
            print(class_name, counts, *failures, sep="\n")
            record = dict(
                suite="skorch",
                case=f"skorch {skorch.__version__} tests",
                noise="clean",
                method=class_name,
                seed=0,
                metrics={**counts, "failures": failures},
                seconds=None,
            )
            records.append({**record, **harness.environment()})
    if not args.pytest_args:  # a selection is not the suite
        harness.append("skorch", records)
    print(report(records))


if __name__ == "__main__":
    main()
