"""Real tables: does the verdict rank wrong labels first, and does acting on it cost accuracy?

Question: on fifteen real tables nobody tuned for (imbalanced, many-class,
overlapping, categorical, with missing values), with defaults, does
``WrongEventClassifier`` rank wrong labels at least as well as its own raw
wrong-event counts and as cleanlab, and is it as accurate as plain training?

Cases: every table in ``uci_tables`` (abalone binned into 3 age groups),
a stratified 70/30 split per seed, numeric columns median-imputed and
standardised, text columns one-hot encoded. Noise: none, 20% symmetric, 20%
pair flips (each flipped row moves to the next class). Methods, all with the
default MLP, ``lr`` and ``max_epochs``: ``plain`` (NetClassifier),
``early stopping`` (a 20% hold-out, patience 5, best weights restored),
``cleanlab`` (``CleanLearning`` around the plain net, 3 folds) and ``ours``.

Metrics: balanced accuracy on the clean test split; on noisy cells the AUROC
of each ranking against the injected wrong labels (ours: ``1 -
sample_cleanliness_``, the report's ``label_quality`` and the raw
``wrong_events_``; cleanlab: its ``label_quality``); the flagged share; our
``detection_auroc_``, the fit's own estimate of how well its counts separate
wrong labels.

Targets: on every noisy cell our rankings' AUROC at least the raw counts'
minus 0.01 and at least 0.5; mean AUROC at least cleanlab's; balanced
accuracy at least plain's minus 0.01 in 90% of the cells and on the mean; no
constant predictor where plain training is not one.

Command (``--methods ours`` reruns only ours against the stored baselines)::

    python benchmarks/bench_tables.py [--jobs 2] [--seeds 3] [--methods ...]

Appends records to ``benchmarks/results/tables.jsonl`` and writes
``benchmarks/results/tables.md`` from the newest record of each cell.
"""

import argparse
import ast
import json
import os
import platform
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import skorch
import torch
from joblib import Parallel, delayed
from loaders import DATA, require
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit

from skwrongevent import NetClassifier, WrongEventClassifier, inject_label_noise

RESULTS = Path(__file__).parent / "results"
RECORDS = RESULTS / "tables.jsonl"
TABLES = DATA / "uci_tables"
HEADED = {"segment-challenge", "soybean", "hypothyroid"}
NOISES = ["clean", "symmetric 20%", "pair 20%"]
METHODS = ["plain", "early stopping", "cleanlab", "ours"]


def load(name):
    """A table's features (DataFrame) and labels; abalone's ring counts in 3 age groups."""
    path = require(TABLES / f"{name}.csv")
    frame = pd.read_csv(path) if name in HEADED else pd.read_csv(path, header=None, na_values="?")
    X, y = frame.iloc[:, :-1], frame.iloc[:, -1]
    if name == "abalone":
        y = pd.cut(y, [0, 8, 10, np.inf], labels=["young", "adult", "old"])
    X.columns = [str(column) for column in X.columns]
    return X, np.unique(np.asarray(y).astype(str), return_inverse=True)[1]


def encode(X_train, X_test):
    text = [c for c in X_train.columns if not pd.api.types.is_numeric_dtype(X_train[c])]
    numeric = [c for c in X_train.columns if c not in text]
    encoder = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "text",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                text,
            ),
        ]
    )
    X_train = encoder.fit_transform(X_train).astype(np.float32)
    return X_train, encoder.transform(X_test).astype(np.float32)


def split(name, seed):
    X, y = load(name)
    classes, counts = np.unique(y, return_counts=True)
    stratify = y if counts.min() >= 2 else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=seed, stratify=stratify
    )
    # Codes 0, 1, ... of the classes in the training part (cleanlab needs them); a test row
    # of a class the training part lacks keeps -1, which no method predicts.
    trained = np.unique(y_train)
    y_test = np.where(np.isin(y_test, trained), np.searchsorted(trained, y_test), -1)
    return (*encode(X_train, X_test), np.searchsorted(trained, y_train), y_test)


def noisy_labels(y, noise, seed):
    if noise == "clean":
        return y, np.zeros(len(y), dtype=bool)
    kind, rate = noise.split()
    return inject_label_noise(y, float(rate.rstrip("%")) / 100, kind=kind, random_state=seed)


def auroc(is_wrong, suspicion):
    suspicion = np.asarray(suspicion, dtype=np.float64)
    return float(roc_auc_score(is_wrong, suspicion)) if 0 < is_wrong.sum() < len(is_wrong) else None


def run_cell(name, noise, method, seed, params=()):
    try:
        return _run_cell(name, noise, method, seed, dict(params))
    except Exception as error:  # a failed cell is recorded, and the others go on
        metrics = {"error": f"{type(error).__name__}: {error}"}
        return dict(
            suite="tables", case=name, noise=noise, method=method, seed=seed, metrics=metrics,
            seconds=None, **ENVIRONMENT,
        )  # fmt: skip


def _run_cell(name, noise, method, seed, params):
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    X_train, X_test, y_train, y_test = split(name, seed)
    y_noisy, is_wrong = noisy_labels(y_train, noise, seed)
    start = time.perf_counter()
    metrics = {}
    # Every class named, so that a fold without a rare class still predicts all columns.
    common = dict(random_state=seed, classes=np.unique(y_train))
    if method == "plain":
        model = NetClassifier(**common).fit(X_train, y_noisy)
    elif method == "early stopping":
        model = NetClassifier(
            **common,
            train_split=ValidSplit(0.2, stratified=False, random_state=seed),
            callbacks=[EarlyStopping(patience=5, load_best=True)],
        ).fit(X_train, y_noisy)
    elif method == "cleanlab":
        from cleanlab.classification import CleanLearning

        model = CleanLearning(
            NetClassifier(**common),
            seed=seed,
            cv_n_folds=3,
            verbose=False,
            find_label_issues_kwargs={"n_jobs": 1},
        ).fit(X_train, y_noisy)
        issues = model.get_label_issues()
        metrics.update(
            flagged=float(issues["is_label_issue"].mean()),
            auroc=auroc(is_wrong, 1 - issues["label_quality"]),
        )
    else:
        model = WrongEventClassifier(**common, **params).fit(X_train, y_noisy)
        report = model.get_label_issues()
        metrics.update(
            flagged=float(model.noise_mask_.mean()),
            auroc=auroc(is_wrong, 1 - model.sample_cleanliness_),
            auroc_label_quality=auroc(is_wrong, -report["label_quality"]),
            auroc_counts=auroc(is_wrong, model.wrong_events_),
            detection_auroc=model.detection_auroc_,
            robust_epochs=int(model.robust_epochs_),
            strength=model.evidence_strength_,
        )
    seconds = time.perf_counter() - start
    predicted = model.predict(X_test)
    metrics.update(
        balanced_accuracy=float(balanced_accuracy_score(y_test, predicted)),
        predicted_classes=len(np.unique(predicted)),
    )
    if params:  # an ablation of ours, recorded under its own name
        method += " (" + ", ".join(f"{key}={value}" for key, value in params.items()) + ")"
    return dict(
        suite="tables", case=name, noise=noise, method=method, seed=seed, metrics=metrics,
        seconds=round(seconds, 2), **ENVIRONMENT,
    )  # fmt: skip


def _commit():
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


ENVIRONMENT = dict(
    device="cpu",
    threads=1,
    commit=_commit(),
    versions=dict(
        python=platform.python_version(),
        torch=torch.__version__,
        skorch=skorch.__version__,
        sklearn=sklearn.__version__,
    ),
)


def newest(records):
    """The newest record of each (case, noise, method, seed)."""
    cells = {}
    for record in records:
        cells[record["case"], record["noise"], record["method"], record["seed"]] = record
    return list(cells.values())


def report(records):
    frame = pd.DataFrame(
        [
            dict(
                case=r["case"], noise=r["noise"], method=r["method"], seed=r["seed"], **r["metrics"]
            )
            for r in newest(records)
        ]
    )
    mean = frame.groupby(["case", "noise", "method"]).mean(numeric_only=True)
    accuracy = mean["balanced_accuracy"].unstack("method")
    ours, plain = accuracy["ours"], accuracy["plain"]
    lines = [
        "# Real tables (`python benchmarks/bench_tables.py`)",
        "",
        f"Mean of {frame['seed'].nunique()} seeds per cell; balanced accuracy on a clean 30% test "
        "split; AUROC against the injected wrong labels.",
        "",
        "| table | noise | plain | early stopping | cleanlab | ours | AUROC ours | AUROC "
        "label_quality | AUROC counts | AUROC cleanlab | estimated AUROC | flagged |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    by_method = mean.reset_index().set_index(["case", "noise", "method"])
    for case, noise in accuracy.index:
        cell = by_method.loc[(case, noise)]

        def value(method, column, cell=cell):
            number = cell[column].get(method, np.nan) if column in cell else np.nan
            return "" if pd.isna(number) else f"{number:.3f}"

        lines.append(
            f"| {case} | {noise} | "
            + " | ".join(value(m, "balanced_accuracy") for m in METHODS)
            + f" | {value('ours', 'auroc')} | {value('ours', 'auroc_label_quality')} | "
            f"{value('ours', 'auroc_counts')} | {value('cleanlab', 'auroc')} | "
            f"{value('ours', 'detection_auroc')} | {value('ours', 'flagged')} |"
        )
    noisy = mean.xs("ours", level="method").query("noise != 'clean'")
    clean_lab = mean.xs("cleanlab", level="method").query("noise != 'clean'")
    below = (ours < plain - 0.01).sum()
    constant = frame.query("method == 'ours' and predicted_classes == 1")
    plain_constant = frame.query("method == 'plain' and predicted_classes == 1")
    summary = [
        "",
        f"- Balanced accuracy, mean over cells: plain {plain.mean():.3f}, early stopping "
        f"{accuracy['early stopping'].mean():.3f}, cleanlab {accuracy['cleanlab'].mean():.3f}, "
        f"ours {ours.mean():.3f}; ours more than 0.01 below plain in {below} of {len(ours)} "
        "cells.",
        f"- Noisy cells: mean AUROC ours {noisy['auroc'].mean():.3f}, label_quality "
        f"{noisy['auroc_label_quality'].mean():.3f}, raw counts "
        f"{noisy['auroc_counts'].mean():.3f}, "
        f"cleanlab {clean_lab['auroc'].mean():.3f}; cells where ours is below the raw counts' "
        f"minus 0.01: {int((noisy['auroc'] < noisy['auroc_counts'] - 0.01).sum())} of "
        f"{len(noisy)} (label_quality: "
        f"{int((noisy['auroc_label_quality'] < noisy['auroc_counts'] - 0.01).sum())}); below 0.5: "
        f"{int((noisy['auroc'] < 0.5).sum())}.",
        f"- Constant predictors: ours {len(constant)} fits, plain {len(plain_constant)}.",
    ]
    if noisy["detection_auroc"].notna().any():
        estimate = noisy[["detection_auroc", "auroc_counts"]].dropna()
        correlation = np.corrcoef(estimate["detection_auroc"], estimate["auroc_counts"])[0, 1]
        error = (estimate["detection_auroc"] - estimate["auroc_counts"]).abs().mean()
        summary.append(
            f"- `detection_auroc_` against the true AUROC of the counts on noisy cells: "
            f"correlation {correlation:.2f}, mean absolute difference {error:.3f}."
        )
    (RESULTS / "tables.md").write_text("\n".join(lines + summary) + "\n")
    print("\n".join(summary))


def _split(assignment):
    key, _, value = assignment.partition("=")
    return key, value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument("--tables", nargs="+", default=None)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument(
        "--params",
        nargs="+",
        default=[],
        metavar="NAME=VALUE",
        help="parameters of ours (values read as Python literals), recorded as an ablation",
    )
    args = parser.parse_args()
    names = args.tables or sorted(path.stem for path in TABLES.glob("*.csv"))
    params = tuple((key, ast.literal_eval(value)) for key, value in map(_split, args.params))
    if not args.report_only:
        cells = [
            (name, noise, method, seed)
            for name in names
            for noise in NOISES
            for method in args.methods
            for seed in range(args.seeds)
        ]
        # The slowest cells first keep both workers busy to the end.
        cells.sort(key=lambda cell: cell[2] != "cleanlab")
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        records = Parallel(n_jobs=args.jobs)(
            delayed(run_cell)(*cell, params if cell[2] == "ours" else ()) for cell in cells
        )
        RESULTS.mkdir(exist_ok=True)
        with RECORDS.open("a") as file:
            for record in records:
                file.write(json.dumps(record) + "\n")
    report([json.loads(line) for line in RECORDS.read_text().splitlines()])


if __name__ == "__main__":
    main()
