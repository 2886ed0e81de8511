"""Scaling out: one process against two, with AcceleratedWrongEventClassifier.

Question: how do throughput, memory per process and the verdict change when
the same fit runs on two processes instead of one?

Method: 40,000 rows x 20 features from ``make_classification`` (3 classes),
40% symmetric label noise, the default network, 20 epochs, 256 rows per
optimizer step in every setting (``batch_size`` is per process). Each
setting is launched with ``torchrun`` on CPU processes of one thread
(gloo); on a GPU machine the same script measures GPUs. Reported: training
rows per second (rows x epochs / fit time), peak resident memory per
process, and the noise-detection AUROC.

Command (about 2 minutes on 2 CPU cores)::

    python benchmarks/bench_scaling.py [--processes 1 2]

Writes ``benchmarks/results/scaling.md``.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

RESULTS = Path(__file__).parent / "results"
ROWS, EPOCHS, STEP_ROWS = 40_000, 20, 1024


def worker(out):
    from accelerate import Accelerator
    from sklearn.datasets import make_classification
    from sklearn.metrics import roc_auc_score

    from skwrongevent import AcceleratedWrongEventClassifier, inject_label_noise

    torch.set_num_threads(1)
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    X, y = make_classification(
        ROWS, 20, n_informative=10, n_classes=3, class_sep=1.5, random_state=0
    )
    y_noisy, is_wrong = inject_label_noise(y, 0.4, random_state=0)
    clf = AcceleratedWrongEventClassifier(
        accelerator=accelerator,
        max_epochs=EPOCHS,
        batch_size=STEP_ROWS // accelerator.num_processes,
        random_state=0,
    )
    start = time.perf_counter()
    clf.fit(X.astype(np.float32), y_noisy)
    seconds = time.perf_counter() - start
    record = dict(
        processes=accelerator.num_processes,
        seconds=seconds,
        peak_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        auroc=roc_auc_score(is_wrong, -clf.label_quality_),
    )
    Path(out, f"process{accelerator.process_index}.json").write_text(json.dumps(record))
    accelerator.end_training()


def launch(processes):
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        command += ["--nproc_per_node", str(processes)]
        command += [__file__, "--worker", out]
        subprocess.run(command, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        return [json.loads(path.read_text()) for path in sorted(Path(out).glob("*.json"))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    device = "CUDA" if torch.cuda.is_available() else "CPU"
    lines = [
        f"Made by `python benchmarks/bench_scaling.py`: {ROWS:,} rows x 20 features, 40% "
        f"symmetric noise, {EPOCHS} epochs, {STEP_ROWS} rows per step, {device} processes of "
        "one thread each.",
        "",
        "| processes | fit (s) | training rows / s | speed-up | peak memory per process | AUROC |",
        "|---|---|---|---|---|---|",
    ]
    first = None
    for processes in args.processes:
        records = launch(processes)
        seconds = max(record["seconds"] for record in records)
        first = first or seconds
        peak = max(record["peak_mib"] for record in records)
        lines.append(
            f"| {processes} | {seconds:.1f} | {ROWS * EPOCHS / seconds:,.0f} | "
            f"{first / seconds:.2f} | {peak:.0f} MiB | {records[0]['auroc']:.3f} |"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scaling.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2])
        os._exit(0)  # gloo's threads can abort the interpreter's teardown
    else:
        main()
