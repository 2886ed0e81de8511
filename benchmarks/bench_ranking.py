"""Finding the few wrong labels of a nearly clean data set.

Question: on data sets with only 0.5-3% wrong labels, how many of the rows
each method ranks most likely wrong are really wrong, at what cost?

Method: wrong labels are planted (symmetric, and pair flips to a look-alike
class) into the training part of digits, UCI letter and (with ``--mnist``)
10,000 MNIST images. Every method fits on that set, as a user cleaning it
would, with the same network and epochs. Reported: precision among the top
k rows, k = the number of planted errors, and recall among the top 1% of the
rows; fit time relative to cleanlab's.

Methods: ``WrongEventClassifier`` (rows ranked by ``find_label_issues``'s
order: flagged rows first, each set by increasing average label margin),
cleanlab (``find_label_issues`` on 5-fold out-of-sample probabilities of
the plain net, which is what ``CleanLearning`` does, ranked by
self-confidence, unflagged rows after), and the plain net's training loss.

Command (about 6 minutes on 2 CPU cores; ``--mnist`` adds about 8)::

    python benchmarks/bench_ranking.py [--seeds 2] [--mnist]

Writes ``benchmarks/results/ranking.md``.
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from cleanlab.filter import find_label_issues as cleanlab_issues
from loaders import MnistCNN, digits, letter, mnist
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from skwrongevent import NetClassifier, WrongEventClassifier, inject_label_noise
from skwrongevent._report import rank_label_issues

RESULTS = Path(__file__).parent / "results"
NOISES = [
    ("symmetric", 0.005),
    ("symmetric", 0.01),
    ("symmetric", 0.03),
    ("pair", 0.01),
    ("pair", 0.03),
]
METHODS = ["WrongEventClassifier", "cleanlab", "training loss"]


def datasets(with_mnist):
    yield "digits", digits()[:2], {}
    yield "letter", letter()[:2], {}
    if with_mnist:
        X, y, _, _ = mnist(10000)
        yield "MNIST 10k", (X, y), dict(module=MnistCNN, max_epochs=15, lr=1e-3)


def scores(order, is_wrong):
    k = int(is_wrong.sum())
    top = max(1, len(is_wrong) // 100)
    return is_wrong[order[:k]].mean(), is_wrong[order[:top]].sum() / k


def run_case(X, y, kind, rate, seed, params):
    y_noisy, is_wrong = inject_label_noise(
        y, rate, kind=kind, X=X.reshape(len(X), -1), random_state=seed
    )
    common = dict(params, random_state=seed)
    result = {}
    start = time.perf_counter()
    clf = WrongEventClassifier(**common).fit(X, y_noisy)
    seconds = {"WrongEventClassifier": time.perf_counter() - start}
    result["WrongEventClassifier"] = scores(
        rank_label_issues(clf.noise_mask_, clf.sample_margin_), is_wrong
    )
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
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--mnist", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    lines = [
        f"Made by `python benchmarks/bench_ranking.py --seeds {args.seeds}"
        + (" --mnist`" if args.mnist else "`")
        + ". Precision at k (k = planted errors) / recall in the top 1% of rows, mean over "
        "seeds; time is WrongEventClassifier's fit over cleanlab's.",
        "",
        "| data set | noise | " + " | ".join(METHODS) + " | flagged (cleanlab) | time / cleanlab |",
        "|---" * (len(METHODS) + 4) + "|",
    ]
    wins = total = 0
    for name, (X, y), params in datasets(args.mnist):
        for kind, rate in NOISES:
            runs = [run_case(X, y, kind, rate, seed, params) for seed in range(args.seeds)]
            mean = {key: np.mean([run[key] for run in runs], axis=0) for key in runs[0]}
            ours, theirs = mean["WrongEventClassifier"], mean["cleanlab"]
            total += 1
            wins += bool(ours[0] >= theirs[0] and ours[1] >= theirs[1])
            cells = " | ".join(f"{mean[m][0]:.2f} / {mean[m][1]:.2f}" for m in METHODS)
            lines.append(
                f"| {name} | {kind} {rate:.1%} | {cells} "
                f"| {mean['flagged']:.1%} ({mean['flagged by cleanlab']:.1%}) "
                f"| {mean['time']:.2f} |"
            )
            print(lines[-1], flush=True)
    lines += ["", f"At least cleanlab's precision and recall: {wins} of {total} cases."]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ranking.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
