"""Robustness grid: is WrongEventClassifier ever worse than plain training?

Question: off the path its defaults were chosen on (unscaled features,
imbalanced classes, clean labels, a user's own module, a learning rate and
budget the user picks), does ``WrongEventClassifier`` ever lose to plain
training with the same module, optimiser, learning rate and epochs, and does
it flag clean data as noisy?

Grid: 5 data sets x 4 label-noise settings x 2 user settings = 40 cells, each
with 2 seeds. Data sets: digits (standardised), breast cancer (features left
unscaled), a 3-class 90/8/2 imbalanced table, digits as 1 x 8 x 8 images with
a small CNN, and skorch's README example (its 20-10-10-2 module with
dropout). Noise: none, 10% and 40% symmetric, 40% pair (30% instance-dependent
for the two-class sets, where pair noise is symmetric). Settings: lr 1e-3 for
20 epochs, and lr 1e-2 for 60 epochs.

Methods, all with the same network and settings: ``plain`` (NetClassifier,
the same net trained plainly), ``early stopping`` (a 20% hold-out, patience 5,
best weights restored), ``cleanlab`` (``CleanLearning`` around the plain net,
5 folds) and ``WrongEventClassifier``. Metric: balanced accuracy on a clean
30% test split; for WrongEventClassifier also the flagged share, and on clean
labels the share a fresh mixture flags on the same final counts.

Targets: in no cell worse than plain by more than 0.01; on clean labels a
flagged share at most 2x the fresh mixture's and no class flagged whole; at
least cleanlab's accuracy in 90% of the noisy cells.

Command (about 3 minutes on 2 CPU cores)::

    python benchmarks/robustness.py [--jobs 2]

Writes ``benchmarks/results/robustness.md`` and ``robustness.json``.
"""

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed
from loaders import DigitCNN
from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit

from skwrongevent import BetaMixture, NetClassifier, WrongEventClassifier, inject_label_noise

RESULTS = Path(__file__).parent / "results"


class ReadmeModule(torch.nn.Module):
    """skorch's README example module, returning logits."""

    def __init__(self, num_units=10):
        super().__init__()
        self.dense0 = torch.nn.Linear(20, num_units)
        self.dropout = torch.nn.Dropout(0.5)
        self.dense1 = torch.nn.Linear(num_units, num_units)
        self.output = torch.nn.Linear(num_units, 2)

    def forward(self, X):
        X = self.dropout(torch.relu(self.dense0(X)))
        return self.output(torch.relu(self.dense1(X)))


def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def digit_images():
    X, y = load_digits(return_X_y=True)
    return (X / 16).reshape(-1, 1, 8, 8), y


def imbalanced():
    return make_classification(
        3000, 10, n_informative=5, n_classes=3, weights=[0.9, 0.08, 0.02], random_state=0
    )


def readme_example():
    return make_classification(1000, 20, n_informative=10, random_state=0)


DATASETS = {
    "digits (scaled)": (digits, None),
    "breast cancer (unscaled)": (lambda: load_breast_cancer(return_X_y=True), None),
    "imbalanced 90/8/2": (imbalanced, None),
    "digit images, CNN": (digit_images, DigitCNN),
    "skorch README module": (readme_example, ReadmeModule),
}
NOISES = ["clean", "symmetric 10%", "symmetric 40%", "pair 40%"]
SETTINGS = {"lr 1e-3, 20 epochs": (1e-3, 20), "lr 1e-2, 60 epochs": (1e-2, 60)}
METHODS = ["plain", "early stopping", "cleanlab", "WrongEventClassifier"]


def noisy_labels(y, noise, X, seed):
    if noise == "clean":
        return y, np.zeros(len(y), dtype=bool)
    kind, rate = noise.split()
    rate = float(rate.rstrip("%")) / 100
    if kind == "pair" and len(np.unique(y)) == 2:
        kind, rate = "instance", 0.3
    return inject_label_noise(y, rate, kind=kind, X=X.reshape(len(X), -1), random_state=seed)


def run_cell(dataset, noise, setting, seed, device="cpu"):
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    load, module = DATASETS[dataset]
    lr, epochs = SETTINGS[setting]
    X, y = load()
    X = X.astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=seed, stratify=y
    )
    y_noisy, is_wrong = noisy_labels(y_train, noise, X_train, seed)
    common = dict(module=module, lr=lr, max_epochs=epochs, random_state=seed, device=device)
    records = []
    for method in METHODS:
        start = time.perf_counter()
        record = dict(dataset=dataset, noise=noise, setting=setting, seed=seed, method=method)
        if method == "plain":
            model = NetClassifier(**common).fit(X_train, y_noisy)
        elif method == "early stopping":
            model = NetClassifier(
                **common,
                train_split=ValidSplit(0.2, stratified=True, random_state=seed),
                callbacks=[EarlyStopping(patience=5, load_best=True)],
            ).fit(X_train, y_noisy)
        elif method == "cleanlab":
            from cleanlab.classification import CleanLearning

            # cleanlab's own process pool cannot start inside a joblib worker.
            model = CleanLearning(
                NetClassifier(**common),
                seed=seed,
                verbose=False,
                find_label_issues_kwargs={"n_jobs": 1},
            )
            model.fit(X_train, y_noisy)
            record["flagged"] = float(model.get_label_issues()["is_label_issue"].mean())
        else:
            model = WrongEventClassifier(**common).fit(X_train, y_noisy)
            mask = model.noise_mask_
            fresh = BetaMixture().fit(model.wrong_events_)
            record.update(
                flagged=float(mask.mean()),
                fresh_flagged=float((fresh.predict_proba(model.wrong_events_)[:, 0] < 0.5).mean()),
                largest_class_share=float(max(mask[y_noisy == c].mean() for c in np.unique(y))),
                withheld=model.withheld_classes_.tolist(),
            )
        record["seconds"] = time.perf_counter() - start
        record["balanced_accuracy"] = balanced_accuracy_score(y_test, model.predict(X_test))
        records.append(record)
    return records


def mean(records, metric, **where):
    values = [
        r[metric] for r in records if all(r[k] == v for k, v in where.items()) and metric in r
    ]
    return float(np.mean(values)) if values else float("nan")


def report(records):
    lines = [
        "| data set | noise | setting | plain | early stopping | cleanlab | ours | ours - plain "
        "| flagged (fresh mixture) |",
        "|---" * 9 + "|",
    ]
    worse, clean_checks, beats_cleanlab, noisy_cells = [], [], 0, 0
    for dataset in DATASETS:
        for noise in NOISES:
            for setting in SETTINGS:
                cell = dict(dataset=dataset, noise=noise, setting=setting)
                scores = {m: mean(records, "balanced_accuracy", method=m, **cell) for m in METHODS}
                ours = dict(method="WrongEventClassifier", **cell)
                flagged, fresh = (
                    mean(records, "flagged", **ours),
                    mean(records, "fresh_flagged", **ours),
                )
                gap = scores["WrongEventClassifier"] - scores["plain"]
                if gap < -0.01:
                    worse.append(f"{dataset}, {noise}, {setting}: {gap:+.3f}")
                if noise == "clean":
                    whole = mean(records, "largest_class_share", **ours)
                    if flagged > 2 * fresh + 1e-9 or whole >= 1:
                        clean_checks.append(f"{dataset}, {setting}: {flagged:.3f} vs {fresh:.3f}")
                else:
                    noisy_cells += 1
                    beats_cleanlab += scores["WrongEventClassifier"] >= scores["cleanlab"]
                lines.append(
                    f"| {dataset} | {noise} | {setting} | "
                    + " | ".join(f"{scores[m]:.3f}" for m in METHODS)
                    + f" | {gap:+.3f} | {flagged:.3f} ({fresh:.3f}) |"
                )
    summary = [
        f"- Cells worse than plain by more than 0.01: {len(worse)} of "
        f"{len(DATASETS) * len(NOISES) * len(SETTINGS)}.",
        *[f"  - {line}" for line in worse],
        f"- Clean-label cells flagging more than 2x a fresh mixture or a whole class: "
        f"{len(clean_checks)}.",
        *[f"  - {line}" for line in clean_checks],
        f"- Noisy cells at or above cleanlab's accuracy: {beats_cleanlab} of {noisy_cells} "
        f"({beats_cleanlab / noisy_cells:.0%}).",
    ]
    return summary + [""] + lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    cells = [
        (dataset, noise, setting, seed, args.device)
        for dataset in DATASETS
        for noise in NOISES
        for setting in SETTINGS
        for seed in range(args.seeds)
    ]
    start = time.perf_counter()
    results = Parallel(n_jobs=args.jobs, verbose=5)(delayed(run_cell)(*cell) for cell in cells)
    records = [record for cell in results for record in cell]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "robustness.json").write_text(json.dumps(records, indent=1))
    minutes = (time.perf_counter() - start) / 60
    header = [
        f"Made by `python benchmarks/robustness.py --jobs {args.jobs}` ({args.seeds} seeds, "
        f"device {args.device}, {minutes:.0f} minutes). Balanced accuracy on a clean test "
        "split, mean over seeds.",
        "",
    ]
    lines = header + report(records)
    (RESULTS / "robustness.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
