"""One process against two with AcceleratedWrongEventClassifier: throughput, memory, verdict.

40,000 rows x 20 features (3 classes), 40% symmetric noise, the default
network, 20 epochs and 1,024 rows per optimizer step in every setting
(``batch_size`` is per process). Each setting is launched with ``torchrun``
on processes of one thread (CPU and gloo, or GPUs where present).
"""

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

COMMAND = "python benchmarks scaling --processes 1 2"
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
    record = dict(
        seconds=time.perf_counter() - start,
        peak_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        auroc=roc_auc_score(is_wrong, -clf.label_quality_),
    )
    Path(out, f"process{accelerator.process_index}.json").write_text(json.dumps(record))
    accelerator.end_training()


def launch(processes):
    with tempfile.TemporaryDirectory() as out:
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            str(processes),
            __file__,
            "--worker",
            out,
        ]
        subprocess.run(command, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        return [json.loads(path.read_text()) for path in sorted(Path(out).glob("*.json"))]


def report(records):
    records = sorted(records, key=lambda r: int(r["case"].split()[0]))
    first = records[0]["seconds"]
    lines = [
        "| processes | fit (s) | training rows / s | speed-up | peak memory per process | AUROC |",
        "|---|---|---|---|---|---|",
    ]
    for r in records:
        m = r["metrics"]
        rate = ROWS * EPOCHS / r["seconds"]
        lines.append(
            f"| {r['case'].split()[0]} | {r['seconds']:.1f} | {rate:,.0f} | "
            f"{first / r['seconds']:.2f} | {m['peak_mib']:.0f} MiB | {m['auroc']:.3f} |"
        )
    return "\n".join(lines)


def main():
    import argparse

    import harness

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    records = []
    for processes in args.processes:
        results = launch(processes)
        metrics = dict(peak_mib=max(r["peak_mib"] for r in results), auroc=results[0]["auroc"])
        record = dict(
            suite="scaling",
            case=f"{processes} processes",
            noise="symmetric 40%",
            method="ours",
            seed=0,
            metrics=metrics,
            seconds=max(r["seconds"] for r in results),
        )
        records.append({**record, **harness.environment(threads=1)})
    harness.append("scaling", records)
    print(report(records))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2])
        os._exit(0)  # gloo's threads can abort the interpreter's teardown
    else:
        main()
