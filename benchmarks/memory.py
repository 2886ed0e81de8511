"""Peak memory per training row above plain skorch, on a memory-mapped data set.

Each model is fitted in its own process on a ``numpy.memmap`` of float32
features read item by item through a torch ``Dataset`` (neither holds the
data in memory), with the same module, AdamW and 2 epochs; each records its
peak resident memory (the median of 3 runs). The cost per row is the slope
of the difference between the two from a quarter of the rows to all of them,
which leaves out fixed costs.
"""

import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

COMMAND = "python benchmarks memory --rows 1000000"
N_FEATURES = 20


class MemmapRows(torch.utils.data.Dataset):
    def __init__(self, path, n_rows):
        self.X = np.memmap(path / "X.f32", dtype=np.float32, mode="r", shape=(n_rows, N_FEATURES))
        self.targets = np.memmap(path / "y.i8", dtype=np.int8, mode="r", shape=(n_rows,))

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        return torch.from_numpy(np.array(self.X[i])), int(self.targets[i])


def fit(method, path, n_rows):
    from skorch import NeuralNetClassifier

    from skwrongevent import WrongEventClassifier

    torch.set_num_threads(1)
    module = torch.nn.Sequential(
        torch.nn.Linear(N_FEATURES, 64), torch.nn.ReLU(), torch.nn.Linear(64, 3)
    )
    common = dict(
        max_epochs=2,
        batch_size=1024,
        lr=1e-3,
        optimizer=torch.optim.AdamW,
        train_split=None,
        device="cpu",
    )
    if method == "skorch":
        NeuralNetClassifier(module, verbose=0, **common).fit(MemmapRows(Path(path), n_rows), None)
    else:
        WrongEventClassifier(module, warmup_fraction=0.5, **common).fit(
            MemmapRows(Path(path), n_rows)
        )
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def peak(method, n_rows):
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        X = np.memmap(Path(tmp) / "X.f32", np.float32, "w+", shape=(n_rows, N_FEATURES))
        X[:] = rng.normal(size=X.shape)
        y = np.memmap(Path(tmp) / "y.i8", np.int8, "w+", shape=(n_rows,))
        y[:] = (X[:, 0] > 0).astype(np.int8) + (X[:, 1] > 1)
        X.flush(), y.flush()
        command = [sys.executable, __file__, "--fit", method, tmp, str(n_rows)]
        runs = [
            subprocess.run(command, check=True, capture_output=True, text=True) for _ in range(3)
        ]
        return float(np.median([int(run.stdout.split()[-1]) for run in runs]))


def report(records):
    by = {(r["case"], r["method"]): r["metrics"]["peak_bytes"] for r in records}
    sizes = sorted({int(r["case"].split()[0]) for r in records})
    lines = ["| rows | skorch | ours | difference |", "|---|---|---|---|"]
    difference = {}
    for size in sizes:
        plain, ours = by[f"{size} rows", "skorch"], by[f"{size} rows", "ours"]
        difference[size] = ours - plain
        lines.append(
            f"| {size:,} | {plain / 2**20:.0f} MiB | {ours / 2**20:.0f} MiB | "
            f"{difference[size] / 2**20:.0f} MiB |"
        )
    if len(sizes) > 1:
        slope = (difference[sizes[-1]] - difference[sizes[0]]) / (sizes[-1] - sizes[0])
        lines += ["", f"Above plain skorch, per row: {slope:.1f} bytes."]
    return "\n".join(lines)


def main():
    import argparse

    import harness

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    records = []
    for n_rows in (args.rows // 4, args.rows):
        for method in ("skorch", "ours"):
            record = dict(
                suite="memory", case=f"{n_rows} rows", noise="clean", method=method, seed=0
            )
            record.update(metrics={"peak_bytes": peak(method, n_rows)}, seconds=None)
            records.append({**record, **harness.environment(threads=1)})
    harness.append("memory", records)
    print(report(records))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--fit"]:
        fit(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
