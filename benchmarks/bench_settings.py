"""Random user settings: how often is WrongEventClassifier worse than plain training?

Question: the robustness grid fixes its settings; a user picks any optimiser,
learning rate, batch size, budget and network. Over settings drawn at random,
how often does ``WrongEventClassifier`` lose to plain training with the same
module, optimiser, learning rate, batch size and epochs, and by how much?

Each fit draws: a data set (iris, wine, breast cancer, digits, two moons, and
four synthetic tables: 5 imbalanced classes, a 95/5 binary table, 3 hard
classes, 4 classes with features on scales from 0.01 to 10,000), label noise
(none twice as often as 10% or 30%; symmetric twice as often as pair), lr
(1e-3, 3e-3, 1e-2, 3e-2), epochs (10, 20, 40, 80), batch size (16, 64, 128,
512), optimiser (AdamW twice as often as Adam or SGD with momentum 0.9), the
network (the default MLP twice as often as an MLP with dropout 0.5 and no
input scaling) and the mixture (global twice as often as per class). Metric:
balanced accuracy on a clean 30% test split.

Command (about 2 minutes for 80 fits on 2 CPU cores)::

    python benchmarks/bench_settings.py [--fits 80] [--draw 1] [--jobs 2]

Writes ``benchmarks/results/settings.md`` and ``settings.json``.
"""

import argparse
import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
    make_moons,
)
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split

from skwrongevent import NetClassifier, WrongEventClassifier, inject_label_noise

RESULTS = Path(__file__).parent / "results"
OPTIMIZERS = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}


def load(name, seed):
    if name == "iris":
        X, y = load_iris(return_X_y=True)
    elif name == "wine":
        X, y = load_wine(return_X_y=True)
    elif name == "breast cancer":
        X, y = load_breast_cancer(return_X_y=True)
    elif name == "digits":
        X, y = load_digits(return_X_y=True)
    elif name == "moons":
        X, y = make_moons(1500, noise=0.25, random_state=seed)
    elif name == "imbalanced 5":
        weights = [0.6, 0.2, 0.1, 0.07, 0.03]
        X, y = make_classification(
            2000, 12, n_informative=6, n_classes=5, weights=weights,
            n_clusters_per_class=1, random_state=seed,
        )  # fmt: skip
    elif name == "binary 95/5":
        X, y = make_classification(2000, 10, n_informative=4, weights=[0.95], random_state=seed)
    elif name == "hard 3":
        X, y = make_classification(
            2000, 20, n_informative=3, n_redundant=2, n_classes=3, class_sep=0.7,
            random_state=seed,
        )  # fmt: skip
    else:  # "scales": features from 0.01 to 10,000
        X, y = make_classification(1500, 8, n_informative=5, n_classes=4, random_state=seed)
        X = X * np.array([1, 10, 100, 1000, 1, 1, 0.01, 1e4]) + 50
    return X.astype(np.float32), y


class DropoutMLP(torch.nn.Module):
    """Two hidden layers of 32 units with dropout 0.5, no input scaling."""

    def __init__(self, n_classes=2):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.LazyLinear(32), torch.nn.ReLU(), torch.nn.Dropout(0.5),
            torch.nn.Linear(32, 32), torch.nn.ReLU(), torch.nn.Linear(32, n_classes),
        )  # fmt: skip

    def forward(self, X):
        return self.layers(X)


def draw(rng):
    pick = lambda *options: options[rng.integers(len(options))]  # noqa: E731
    return {
        "data": pick("iris", "wine", "breast cancer", "digits", "moons", "imbalanced 5",
                     "binary 95/5", "hard 3", "scales"),
        "noise": pick(0.0, 0.0, 0.1, 0.3),
        "kind": pick("symmetric", "symmetric", "pair"),
        "lr": pick(1e-3, 3e-3, 1e-2, 3e-2),
        "epochs": pick(10, 20, 40, 80),
        "batch": pick(16, 64, 128, 512),
        "optimizer": pick("adamw", "adamw", "adam", "sgd"),
        "module": pick("default", "default", "dropout"),
        "mixture": pick("global", "global", "per_class"),
        "seed": int(rng.integers(100)),
    }  # fmt: skip


def converged(losses):
    """Whether training stopped improving: its loss fell by under 5% over the last quarter."""
    tail = losses[-max(2, len(losses) // 4) :]
    return bool(tail[-1] >= 0.95 * tail[0])


def run_fit(setting):
    torch.set_num_threads(1)
    seed = setting["seed"]
    X, y = load(setting["data"], seed)
    X, X_test, y, y_test = train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
    wrong = np.zeros(len(y), dtype=bool)
    if setting["noise"]:
        y, wrong = inject_label_noise(y, setting["noise"], kind=setting["kind"], random_state=seed)
    params = dict(
        lr=setting["lr"], max_epochs=setting["epochs"], batch_size=setting["batch"],
        optimizer=OPTIMIZERS[setting["optimizer"]], random_state=seed, device="cpu",
    )  # fmt: skip
    if setting["optimizer"] == "sgd":
        params["optimizer__momentum"] = 0.9
    if setting["module"] == "dropout":
        params.update(module=DropoutMLP, module__n_classes=len(np.unique(y_test)))
    result = dict(setting)
    for name, model in [
        ("plain", NetClassifier(**params)),
        ("ours", WrongEventClassifier(mixture=setting["mixture"], **params)),
    ]:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.fit(X, y)
        except FloatingPointError:  # a diverged loss raises, for both
            result[name] = None
            continue
        result[name] = balanced_accuracy_score(y_test, model.predict(X_test))
        if name == "plain":
            result["plain converged"] = converged(model.history[:, "train_loss"])
    if result["ours"] is not None:
        mask = model.noise_mask_
        result["flagged"] = float(mask.mean())
        result["largest class share flagged"] = max(float(mask[y == c].mean()) for c in set(y))
        result["recall"] = float(mask[wrong].mean()) if wrong.any() else None
        result["base epoch"], result["warm-up"] = int(model.base_epoch_), model.warmup_epochs_
        result["base model restored"] = any("base model (epoch" in str(w.message) for w in caught)
    return result


def report(results, args):
    fits = [r for r in results if r["plain"] is not None and r["ours"] is not None]
    gap = np.array([r["ours"] - r["plain"] for r in fits])
    lines = [
        f"Made by `python benchmarks/bench_settings.py --fits {args.fits} --draw {args.draw}`. "
        "Balanced accuracy on a clean test split; one fit per drawn setting.",
        "",
        f"- Fits: {len(fits)} ({len(results) - len(fits)} diverged, for both methods or one).",
        f"- Worse than plain training by more than 0.01: {np.sum(gap < -0.01)}; better by more "
        f"than 0.01: {np.sum(gap > 0.01)}; mean difference {gap.mean():+.3f}.",
    ]
    for noise in sorted({r["noise"] for r in fits}):
        part = np.array([r["ours"] - r["plain"] for r in fits if r["noise"] == noise])
        lines.append(
            f"  - noise {noise:.0%}: {len(part)} fits, {np.sum(part < -0.01)} worse, "
            f"{np.sum(part > 0.01)} better, mean {part.mean():+.3f}"
        )
    settled = np.array([r["ours"] - r["plain"] for r in fits if r.get("plain converged")])
    if settled.size:
        lines.append(
            f"- Where plain training converged (its training loss fell by under 5% over the last "
            f"quarter of the epochs): {settled.size} fits, {np.sum(settled < -0.01)} worse by more "
            f"than 0.01, {np.sum(settled > 0.01)} better, mean {settled.mean():+.3f}."
        )
    restored = sum(r["base model restored"] for r in fits)
    lines.append(f"- Base model restored because robust training undid it: {restored} fits.")
    lines += [
        "",
        "The 15 fits furthest below plain training:",
        "",
        "| data set | noise | lr | epochs | batch | optimiser | module | mixture | plain | ours "
        "| ours - plain | flagged (largest class share) | base epoch / warm-up |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(fits, key=lambda r: r["ours"] - r["plain"])[:15]:
        noise = f"{r['kind']} {r['noise']:.0%}" if r["noise"] else "clean"
        lines.append(
            f"| {r['data']} | {noise} | {r['lr']:g} | {r['epochs']} | {r['batch']} | "
            f"{r['optimizer']} | {r['module']} | {r['mixture']} | {r['plain']:.3f} | "
            f"{r['ours']:.3f} | {r['ours'] - r['plain']:+.3f} | {r['flagged']:.3f} "
            f"({r['largest class share flagged']:.2f}) | {r['base epoch']} / {r['warm-up']}"
            f"{' (restored)' if r['base model restored'] else ''} |"
        )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=80, help="settings to draw")
    parser.add_argument("--draw", type=int, default=1, help="seed of the draw")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    rng = np.random.default_rng(args.draw)
    settings = [draw(rng) for _ in range(args.fits)]
    results = Parallel(n_jobs=args.jobs)(delayed(run_fit)(s) for s in settings)
    RESULTS.mkdir(exist_ok=True)
    suffix = "" if args.draw == 1 else f"_draw{args.draw}"
    (RESULTS / f"settings{suffix}.json").write_text(json.dumps(results, indent=1))
    table = report(results, args)
    (RESULTS / f"settings{suffix}.md").write_text("# Random user settings\n\n" + table)
    print(table)


if __name__ == "__main__":
    main()
