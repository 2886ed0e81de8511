"""Peak memory per training row above plain skorch, on a memory-mapped data set.

Question: what does ``WrongEventClassifier`` keep per row beyond what plain
skorch needs, when the data set streams from disk? The rows are a
``numpy.memmap`` of float32 features read item by item through a torch
``Dataset``, so neither model holds the data in memory.

Method: each model is fitted in its own process, with the same module,
optimiser (AdamW) and 2 epochs, and reports its peak resident memory. The
per-row cost is the slope of the difference between the two models from a
quarter of the rows to all of them, which leaves out fixed costs (modules
imported, the network); each peak is the median of 3 runs. Target: at most
40 bytes per row at 1,000,000 rows x 20 features.

Command (about 3 minutes on 2 CPU cores)::

    python benchmarks/bench_memory.py [--rows 1000000]

Writes ``benchmarks/results/memory.md``.
"""

import argparse
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

RESULTS = Path(__file__).parent / "results"
N_FEATURES = 20


class MemmapRows(torch.utils.data.Dataset):
    """(features, label) pairs read from a memory-mapped float32 array."""

    def __init__(self, path, n_rows):
        self.X = np.memmap(path / "X.f32", dtype=np.float32, mode="r", shape=(n_rows, N_FEATURES))
        self.targets = np.memmap(path / "y.i8", dtype=np.int8, mode="r", shape=(n_rows,))

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        return torch.from_numpy(np.array(self.X[i])), int(self.targets[i])


class Module(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(N_FEATURES, 64), torch.nn.ReLU(), torch.nn.Linear(64, 3)
        )

    def forward(self, X):
        return self.net(X)


def fit(kind, path, n_rows):
    from skorch import NeuralNetClassifier

    from skwrongevent import WrongEventClassifier

    torch.set_num_threads(1)
    dataset = MemmapRows(Path(path), n_rows)
    common = dict(
        max_epochs=2, batch_size=1024, lr=1e-3, optimizer=torch.optim.AdamW, train_split=None
    )
    if kind == "plain":
        model = NeuralNetClassifier(Module, verbose=0, device="cpu", **common)
        model.fit(dataset, y=None)
    else:
        model = WrongEventClassifier(Module, warmup_fraction=0.5, device="cpu", **common)
        model.fit(dataset)
        assert model.robust_epochs_ >= 1 or model.warmup_epochs_ == 2
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def measure(n_rows):
    """Peak resident memory of each model fitted on ``n_rows`` memory-mapped rows."""
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        X = np.memmap(Path(tmp) / "X.f32", np.float32, "w+", shape=(n_rows, N_FEATURES))
        X[:] = rng.normal(size=X.shape)
        y = np.memmap(Path(tmp) / "y.i8", np.int8, "w+", shape=(n_rows,))
        y[:] = (X[:, 0] > 0).astype(np.int8) + (X[:, 1] > 1)
        X.flush(), y.flush()
        del X, y
        peak = {}
        for kind in ("plain", "ours"):
            command = [sys.executable, __file__, "--fit", kind, tmp, str(n_rows)]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            peak[kind] = int(out.split()[-1])
    return peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    sizes = (args.rows // 4, args.rows)
    # Peak memory varies by some MiB from run to run (allocator timing): medians of 3.
    runs = {size: [measure(size) for _ in range(3)] for size in sizes}
    peak = {
        size: {
            kind: float(np.median([run[kind] for run in runs[size]])) for kind in ("plain", "ours")
        }
        for size in sizes
    }
    difference = {size: peak[size]["ours"] - peak[size]["plain"] for size in sizes}
    per_row = (difference[sizes[1]] - difference[sizes[0]]) / (sizes[1] - sizes[0])
    lines = [
        f"Made by `python benchmarks/bench_memory.py --rows {args.rows}`: memory-mapped data "
        f"sets of {sizes[0]:,} and {sizes[1]:,} rows x {N_FEATURES} float32 features, 3 "
        "classes, 2 epochs, batch 1024, AdamW, on the CPU.",
        "",
        "| rows | skorch NeuralNetClassifier | WrongEventClassifier | difference |",
        "|---|---|---|---|",
        *(
            f"| {size:,} | {peak[size]['plain'] / 2**20:.0f} MiB | "
            f"{peak[size]['ours'] / 2**20:.0f} MiB | {difference[size] / 2**20:.0f} MiB |"
            for size in sizes
        ),
        "",
        f"Above plain skorch, per row: {per_row:.1f} bytes (target: at most 40).",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "memory.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--fit"]:
        fit(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
