"""skorch's own tests, run against skwrongevent's classifiers.

Question: which of the tests skorch runs on its ``NeuralNetClassifier`` does
each of our classifiers fail, when swapped in for it?

Method: skorch's installed test files are copied to a temporary folder and
run with pytest and a plugin that replaces ``skorch.NeuralNetClassifier`` by
a subclass of ours whose defaults are skorch's (``NLLLoss``, ``SGD`` at
0.01, 10 epochs, a 20% validation split, ``verbose=1``, the CPU), since the
tests rely on them. docs/skorch.md says why the remaining failures differ on
purpose.

Command (about a minute on 2 CPU cores; needs ``pip install flaky``, which
skorch's tests import)::

    python benchmarks/skorch_suite.py

Writes ``benchmarks/results/skorch_suite.md``; prints each class's pytest
summary and failures.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import skorch

RESULTS = Path(__file__).parent / "results"
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
    command = [sys.executable, "-m", "pytest", "-p", "swap_plugin", "-q", "-rfE", "--tb=no"]
    command += ["-p", "no:cacheprovider", "-c", os.devnull, "--rootdir", str(folder), "-W"]
    command += ["ignore", *(str(folder / "tests" / name) for name in FILES), *extra]
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=folder)
    lines = result.stdout.strip().splitlines()
    failures = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    return lines[-1] if lines else result.stderr.strip(), failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", nargs="+", default=["NetClassifier", "WrongEventClassifier"])
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest, e.g. -k cuda")
    args = parser.parse_args()
    lines = [
        "Made by `python benchmarks/skorch_suite.py`: skorch "
        f"{skorch.__version__}'s tests ({', '.join(FILES)}) with each class swapped in.",
        "",
        "| class | pytest summary |",
        "|---|---|",
    ]
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        shutil.copytree(Path(skorch.__file__).parent / "tests", folder / "tests")
        (folder / "swap_plugin.py").write_text(PLUGIN)
        for class_name in args.classes:
            summary, failures = run(class_name, folder, args.pytest_args)
            print(f"{class_name}: {summary}", *failures, sep="\n")
            lines.append(f"| {class_name} | {summary.strip('= ')} |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "skorch_suite.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
