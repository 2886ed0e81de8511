"""Finding the few wrong labels of a nearly clean data set.

Question: on data sets with only 0.5-3% wrong labels, how many of the rows
each method ranks most likely wrong are really wrong, at what cost?

Method: wrong labels are planted (symmetric, and pair flips: to the next
class, on CIFAR-10 to a look-alike class such as cat to dog) into the
training part of digits, UCI letter, 10,000 MNIST images and 10,000 CIFAR-10
images. Every method fits on that set, as a user cleaning it would, with the
same network and epochs. Reported: precision among the top k rows, k = the
number of planted errors, and recall among the top 1% of the rows; fit time
relative to cleanlab's.

Methods: ``WrongEventClassifier`` (rows ranked by ``find_label_issues``'s
order: flagged rows first, each set by increasing average label margin),
cleanlab (``find_label_issues`` on 5-fold out-of-sample probabilities of
the plain net, which is what ``CleanLearning`` does, ranked by
self-confidence, unflagged rows after), and the plain net's training loss.

Commands (2 CPU cores)::

    python benchmarks/bench_ranking.py --seeds 5       # digits, letter: 20 minutes
    python benchmarks/bench_ranking.py --data mnist --seeds 5  # 50 minutes
    python benchmarks/bench_ranking.py --data mnist --noises sym0.5% --seeds 10  # 25 minutes
    python benchmarks/bench_ranking.py --data cifar --seeds 1 --noises sym1% pair1%  # 35 minutes

Writes ``benchmarks/results/ranking.md`` from ``ranking.json``, which keeps
the rows of earlier runs that this one did not repeat.
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from cleanlab.filter import find_label_issues as cleanlab_issues
from loaders import CIFAR_LOOK_ALIKE, MnistCNN, SmallResNet, cifar, digits, letter, mnist
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from skwrongevent import NetClassifier, WrongEventClassifier, inject_label_noise

RESULTS = Path(__file__).parent / "results"
NOISES = {
    "sym0.5%": ("symmetric", 0.005),
    "sym1%": ("symmetric", 0.01),
    "sym3%": ("symmetric", 0.03),
    "pair1%": ("pair", 0.01),
    "pair3%": ("pair", 0.03),
}
METHODS = ["WrongEventClassifier", "cleanlab", "training loss"]
LOOK_ALIKE = {"cifar": CIFAR_LOOK_ALIKE}  # where pair flips go; elsewhere the next class
DATASETS = {
    "digits": ("digits", lambda: (digits()[:2], {})),
    "letter": ("letter", lambda: (letter()[:2], {})),
    "mnist": (
        "MNIST 10k",
        lambda: (mnist(10000)[:2], dict(module=MnistCNN, max_epochs=15, lr=1e-3)),
    ),
    "cifar": (
        "CIFAR-10 10k",
        lambda: (
            cifar(10000)[:2],
            dict(module=SmallResNet, max_epochs=15, lr=3e-3, batch_size=128),
        ),
    ),
}


def scores(order, is_wrong):
    k = int(is_wrong.sum())
    top = max(1, len(is_wrong) // 100)
    return is_wrong[order[:k]].mean(), is_wrong[order[:top]].sum() / k


def run_case(X, y, kind, rate, seed, params, pairs=None):
    y_noisy, is_wrong = inject_label_noise(
        y, rate, kind=kind, X=X.reshape(len(X), -1), pairs=pairs, random_state=seed
    )
    common = dict(params, random_state=seed)
    result = {}
    start = time.perf_counter()
    clf = WrongEventClassifier(**common).fit(X, y_noisy)
    seconds = {"WrongEventClassifier": time.perf_counter() - start}
    result["WrongEventClassifier"] = scores(np.argsort(clf.label_quality_, kind="stable"), is_wrong)
    result["flagged"] = clf.noise_mask_.mean()
    start = time.perf_counter()
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    proba = cross_val_predict(NetClassifier(**common), X, y_noisy, cv=folds, method="predict_proba")
    issues = cleanlab_issues(y_noisy, proba, return_indices_ranked_by="self_confidence", n_jobs=1)
    result["flagged by cleanlab"] = len(issues) / len(y_noisy)
    rest = np.argsort(proba[np.arange(len(y_noisy)), y_noisy], kind="stable")
    order = np.r_[issues, rest[~np.isin(rest, issues)]]
    seconds["cleanlab"] = time.perf_counter() - start
    result["cleanlab"] = scores(order, is_wrong)
    plain = NetClassifier(**common).fit(X, y_noisy)
    loss = -np.log(plain.predict_proba(X)[np.arange(len(y_noisy)), y_noisy] + 1e-12)
    result["training loss"] = scores(np.argsort(-loss, kind="stable"), is_wrong)
    result["time"] = seconds["WrongEventClassifier"] / seconds["cleanlab"]
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", choices=DATASETS, default=["digits", "letter"])
    parser.add_argument("--noises", nargs="+", choices=NOISES, default=list(NOISES))
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    rows = {}
    for key in args.data:
        name, load = DATASETS[key]
        (X, y), params = load()
        for noise in args.noises:
            kind, rate = NOISES[noise]
            pairs = LOOK_ALIKE.get(key) if kind == "pair" else None
            runs = [run_case(X, y, kind, rate, seed, params, pairs) for seed in range(args.seeds)]
            mean = {k: np.mean([run[k] for run in runs], axis=0).tolist() for k in runs[0]}
            rows[f"{name} | {kind} {rate:.1%}"] = dict(mean, seeds=args.seeds)
            print(json.dumps({noise: mean}), flush=True)
    RESULTS.mkdir(exist_ok=True)
    store = RESULTS / "ranking.json"  # read now, so that runs in parallel keep each other's rows
    rows = {**(json.loads(store.read_text()) if store.exists() else {}), **rows}
    store.write_text(json.dumps(rows, indent=1))
    lines = [
        "Made by `python benchmarks/bench_ranking.py` (see its docstring for the commands). "
        "Precision at k (k = planted errors) / recall in the top 1% of rows, mean over "
        "seeds; time is WrongEventClassifier's fit over cleanlab's.",
        "",
        "| data set | noise | " + " | ".join(METHODS) + " | flagged (cleanlab) | time / cleanlab "
        "| seeds |",
        "|---" * (len(METHODS) + 5) + "|",
    ]
    wins = 0
    for key, mean in rows.items():
        ours, theirs = mean["WrongEventClassifier"], mean["cleanlab"]
        wins += bool(np.all(np.round(ours, 2) >= np.round(theirs, 2)))  # as the table shows
        cells = " | ".join(f"{mean[m][0]:.2f} / {mean[m][1]:.2f}" for m in METHODS)
        lines.append(
            f"| {key} | {cells} | {mean['flagged']:.1%} ({mean['flagged by cleanlab']:.1%}) "
            f"| {mean['time']:.2f} | {mean['seeds']} |"
        )
    lines += [
        "",
        f"At least cleanlab's precision and recall (at two decimals): {wins} of {len(rows)} cases.",
    ]
    (RESULTS / "ranking.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
