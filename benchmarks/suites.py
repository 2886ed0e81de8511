"""The suites: which cases, noises, methods and seeds each runs, and the tables it reports.

A suite's ``cases(quick)`` lists its cases (``quick``: a cheaper subset);
its ``report(records)`` turns the newest records into the markdown that
``python benchmarks report`` puts into the READMEs.
"""

import functools
from dataclasses import dataclass

import data
import numpy as np
import torch
from harness import Case

from skwrongevent import ImageViews

BASELINES = ["plain", "early stopping", "cleanlab", "ours"]


@dataclass
class Suite:
    question: str
    cases: callable  # quick -> list of Case
    methods: list
    report: callable  # records -> markdown


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------


def mean(records, metric, **where):
    values = [
        r["metrics"][metric]
        for r in records
        if all(r[k] == v for k, v in where.items()) and r["metrics"].get(metric) is not None
    ]
    return float(np.mean(values)) if values else float("nan")


def cells(records):
    """(case, noise) pairs, in the order first recorded."""
    return list(dict.fromkeys((r["case"], r["noise"]) for r in records))


def per_cell(records, metric, method, only=None):
    """The mean of ``metric`` in each cell (or in the cells ``only``), for ``method``."""
    return np.array(
        [mean(records, metric, case=c, noise=n, method=method) for c, n in only or cells(records)]
    )


def overall(values):
    """The mean over cells that have a value, as text."""
    values = values[~np.isnan(values)]
    return f"{values.mean():.3f}" if values.size else "-"


def table(records, columns, header=("case", "noise")):
    """A markdown table: a row per (case, noise), a column per (title, method, metric).

    Columns of methods without records are left out.
    """
    present = {r["method"] for r in records}
    columns = [column for column in columns if column[1] in present]
    lines = [
        "| " + " | ".join([*header, *(title for title, _, _ in columns)]) + " |",
        "|---" * (len(header) + len(columns)) + "|",
    ]
    values = np.array([per_cell(records, metric, m) for _, m, metric in columns]).T
    for (case, noise), row in zip(cells(records), values, strict=True):
        text = ["" if np.isnan(v) else f"{v:.3f}" for v in row]
        lines.append("| " + " | ".join([case, noise, *text]) + " |")
    return lines


def with_time_ratios(records):
    """The records with ``time / plain``: seconds over plain training's on the same fit."""
    plain = {
        (r["case"], r["noise"], r["seed"]): r["seconds"] for r in records if r["method"] == "plain"
    }
    timed = []
    for r in records:
        base = plain.get((r["case"], r["noise"], r["seed"]))
        ratio = {"time / plain": r["seconds"] / base} if base and r["seconds"] else {}
        timed.append({**r, "metrics": {**r["metrics"], **ratio}})
    return timed


def headline_report(records, brief=False):
    columns = [(m, m, "accuracy") for m in [*BASELINES, "clean labels"]]
    columns += [("AUROC ours", "ours", "auroc"), ("AUROC cleanlab", "cleanlab", "auroc")]
    if brief:
        return "\n".join(table(records, columns))
    columns += [("precision ours", "ours", "precision"), ("recall ours", "ours", "recall")]
    columns += [("cleaner + plain", "cleaner + plain", "accuracy")]
    methods = ["early stopping", "cleanlab", "ours", "cleaner + plain"]
    timed = table(with_time_ratios(records), [(m, m, "time / plain") for m in methods])
    lines = ["Clean-test accuracy; AUROC, precision and recall of the wrong labels found:", ""]
    lines += table(records, columns) + ["", "Fit time over plain training's:", "", *timed]
    return "\n".join(lines)


def comparison_report(records, metric="balanced_accuracy"):
    """The baselines side by side, and where ours loses to plain training or to cleanlab."""
    ours, plain = per_cell(records, metric, "ours"), per_cell(records, metric, "plain")
    below = [
        f"{case} / {noise} ({gap:+.3f})"
        for (case, noise), gap in zip(cells(records), ours - plain, strict=True)
        if gap < -0.01
    ]
    noisy = [cell for cell in cells(records) if cell[1] != "clean"]
    beats = np.sum(
        per_cell(records, metric, "ours", noisy) >= per_cell(records, metric, "cleanlab", noisy)
    )
    auroc = {
        name: overall(per_cell(records, key, method, noisy))
        for name, key, method in [
            ("ours", "auroc", "ours"),
            ("raw counts", "auroc_counts", "ours"),
            ("cleanlab", "auroc", "cleanlab"),
        ]
    }
    lines = [
        f"- Mean {metric.replace('_', ' ')} over the {len(cells(records))} cells: "
        + ", ".join(f"{m} {overall(per_cell(records, metric, m))}" for m in BASELINES)
        + ".",
        f"- Cells where ours is more than 0.01 below plain: {len(below)}"
        + (": " + "; ".join(below) if below else "")
        + ".",
        f"- Noisy cells where ours is at least cleanlab: {beats} of {len(noisy)}.",
        "- Mean AUROC on noisy cells: " + ", ".join(f"{k} {v}" for k, v in auroc.items()) + ".",
        "",
    ]
    columns = [(m, m, metric) for m in BASELINES]
    columns += [("AUROC ours", "ours", "auroc"), ("AUROC cleanlab", "cleanlab", "auroc")]
    columns += [("flagged", "ours", "flagged")]
    return "\n".join(lines + table(records, columns))


def variants_report(records):
    """A row per variant of ours: accuracy and AUROC in each cell."""
    names = [f"{case} ({noise})" for case, noise in cells(records)]
    lines = [
        "| variant | metric | " + " | ".join(names) + " | mean |",
        "|---" * (len(names) + 3) + "|",
    ]
    for method in dict.fromkeys(r["method"] for r in records):
        for metric in ["accuracy", "auroc"]:
            values = per_cell(records, metric, method)
            text = " | ".join(f"{v:.3f}" for v in values)
            lines.append(f"| {method} | {metric} | {text} | {overall(values)} |")
    return "\n".join(lines)


def settings_report(records):
    fits = {}
    for r in records:
        if "error" not in r["metrics"]:
            fits.setdefault((r["case"], r["noise"], r["seed"]), {})[r["method"]] = r["metrics"]
    pairs = sorted(
        ((key, f["plain"], f["ours"]) for key, f in fits.items() if {"plain", "ours"} <= f.keys()),
        key=lambda p: p[2]["balanced_accuracy"] - p[1]["balanced_accuracy"],
    )
    gap = np.array([o["balanced_accuracy"] - p["balanced_accuracy"] for _, p, o in pairs])
    settled = np.array([g for g, (_, p, _) in zip(gap, pairs, strict=True) if p.get("converged")])
    lines = [
        f"- Fits: {len(pairs)}; ours more than 0.01 below plain in {np.sum(gap < -0.01)}, above "
        f"in {np.sum(gap > 0.01)}; mean difference {gap.mean():+.3f}.",
        f"- Where plain training converged (its loss fell under 5% over the last quarter): "
        f"{settled.size} fits, {np.sum(settled < -0.01)} more than 0.01 below, mean "
        f"{settled.mean() if settled.size else float('nan'):+.3f}.",
        "",
        "The 10 fits furthest below plain training:",
        "",
        "| setting | noise | plain | ours | flagged |",
        "|---|---|---|---|---|",
    ]
    for (case, noise, _), p, o in pairs[:10]:
        lines.append(
            f"| {case} | {noise} | {p['balanced_accuracy']:.3f} | {o['balanced_accuracy']:.3f} | "
            f"{o.get('flagged', float('nan')):.3f} |"
        )
    return "\n".join(lines)


def ranking_report(records):
    columns = [(f"precision at k, {m}", m, "precision_at_k") for m in ["ours", "cleanlab"]]
    columns += [(f"AUROC {m}", m, "auroc") for m in ["ours", "cleanlab"]]
    columns += [(f"flagged {m}", m, "flagged") for m in ["ours", "cleanlab"]]
    return "\n".join(table(records, columns))


def noise_rates_report(records):
    methods = ["plain", "ours", "ours (mixture='per_class')"]
    columns = [(f"accuracy {m}", m, "accuracy") for m in methods]
    columns += [(f"flagged {m}", m, "flagged") for m in methods[1:]]
    columns += [(f"AUROC {m}", m, "auroc") for m in methods[1:]]
    return "\n".join(table(records, columns))


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

TABULAR = dict(lr=3e-3, batch_size=128)
partial = functools.partial


def sklearn_case(name, **fields):
    return Case(name, partial(data.sklearn_set, name), dict(max_epochs=40, **TABULAR), **fields)


def letter_case(**fields):
    return Case("letter", data.letter, dict(max_epochs=20, **TABULAR), **fields)


def mnist_case(n_train=10000, **fields):
    params = dict(module=data.MnistCNN, max_epochs=15, **TABULAR)
    return Case(f"MNIST {n_train // 1000}k", partial(data.mnist, n_train), params,
                ours=dict(views=ImageViews(flip=False)), **fields)  # fmt: skip


def cifar_case(module=data.SmallResNet, n_train=10000, **fields):
    params = dict(module=module, max_epochs=15, **TABULAR)
    return Case(f"CIFAR-10 {n_train // 1000}k, {module.__name__}", partial(data.cifar, n_train),
                params, ours=dict(views=ImageViews(flip=True)), look_alike=data.CIFAR_LOOK_ALIKE,
                **fields)  # fmt: skip


def headline_cases(quick):
    if quick:
        return [sklearn_case("digits"), sklearn_case("breast_cancer"), mnist_case(5000)]
    return [
        sklearn_case("digits", noises=("symmetric 40%", "pair 40%"), seeds=3),
        sklearn_case("breast_cancer", noises=("symmetric 40%", "instance 40%"), seeds=3),
        letter_case(),
        mnist_case(),
    ]


def ablation_cases(quick):
    return headline_cases(True)[:1] if quick else [sklearn_case("digits", seeds=3), letter_case()]


def robustness_cases(quick):
    """Five data sets and modules under two settings; two-class sets get instance noise."""
    grid = {
        "digits (scaled)": (partial(data.sklearn_set, "digits"), {}),
        "breast cancer (unscaled)": (partial(data.sklearn_set, "breast_cancer", scale=False), {}),
        "imbalanced 90/8/2": (partial(data.synthetic, "imbalanced 90/8/2"), {}),
        "digit images, CNN": (data.digit_images, dict(module=data.DigitCNN)),
        "skorch README module": (partial(data.synthetic, "skorch README"),
                                 dict(module=data.ReadmeModule)),
    }  # fmt: skip
    settings = {"lr 1e-3, 20 epochs": dict(lr=1e-3, max_epochs=20),
                "lr 1e-2, 60 epochs": dict(lr=1e-2, max_epochs=60)}  # fmt: skip
    cases = []
    for name, (load, params) in grid.items():
        pair = "instance 30%" if "breast" in name or "README" in name else "pair 40%"
        noises = ("clean", "symmetric 10%", "symmetric 40%", pair)
        for setting, values in settings.items():
            seeds = 1 if quick else 2
            cases.append(
                Case(f"{name}, {setting}", load, {**params, **values}, noises=noises, seeds=seeds)
            )
    return cases[:2] if quick else cases


def settings_cases(quick, draws=(1, 2), fits=80):
    """``fits`` settings drawn at random by each generator seeded with ``draws``."""
    cases = []
    for draw in draws[:1] if quick else draws:
        cases += _draw_settings(np.random.default_rng(draw), 8 if quick else fits)
    return cases


SETTINGS_DATA = {"iris": 3, "wine": 3, "breast cancer": 2, "digits": 10, "moons": 2,
                 "imbalanced 5": 5, "binary 95/5": 2, "hard 3": 3, "scales": 4}  # fmt: skip


def _draw_settings(rng, fits):
    """Data, noise, lr, epochs, batch size, optimiser, network and mixture, drawn at random."""
    pick = lambda *options: options[rng.integers(len(options))]  # noqa: E731
    optimizers = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}
    cases = []
    for _ in range(fits):
        name = pick(*SETTINGS_DATA)
        rate, kind = pick(0.0, 0.0, 0.1, 0.3), pick("symmetric", "symmetric", "pair")
        lr, epochs = pick(1e-3, 3e-3, 1e-2, 3e-2), pick(10, 20, 40, 80)
        batch, optimizer = pick(16, 64, 128, 512), pick("adamw", "adamw", "adam", "sgd")
        module, mixture = (
            pick("default", "default", "dropout"),
            pick("global", "global", "per_class"),
        )
        seed = int(rng.integers(100))
        if name in ("iris", "wine", "breast cancer", "digits"):
            load = partial(data.sklearn_set, name.replace(" ", "_"), seed, scale=False)
        else:
            load = partial(data.synthetic, name, seed)
        params = dict(lr=lr, max_epochs=epochs, batch_size=batch, optimizer=optimizers[optimizer])
        if optimizer == "sgd":
            params["optimizer__momentum"] = 0.9
        if module == "dropout":
            params.update(module=data.DropoutMLP, module__n_classes=SETTINGS_DATA[name])
        setting = (
            f"{name}, {optimizer} lr {lr:g}, {epochs} epochs, batch {batch}, {module}, {mixture}"
        )
        noise = f"{kind} {rate:.0%}" if rate else "clean"
        cases.append(Case(setting, load, params, ours=dict(mixture=mixture), noises=(noise,),
                          seeds=(seed,)))  # fmt: skip
    return cases


def tables_cases(quick):
    names = data.uci_table_names()[:2] if quick else data.uci_table_names()
    noises = ("clean", "symmetric 20%", "pair 20%")
    return [Case(name, partial(data.uci_table, name), noises=noises, seeds=1 if quick else 3)
            for name in names]  # fmt: skip


def ranking_cases(quick):
    noises = ("symmetric 0.5%", "symmetric 1%", "symmetric 3%", "pair 1%", "pair 3%")
    cases = [sklearn_case("digits", noises=noises, seeds=5)]
    return cases if quick else [*cases, letter_case(noises=noises)]


def noise_rate_cases(quick):
    noises = ("clean", "symmetric 10%", "symmetric 20%", "symmetric 40%", "symmetric 60%")
    return [sklearn_case("digits", noises=noises, seeds=1 if quick else 3)]


def image_cases(quick):
    if quick:
        return [cifar_case(n_train=2000, noises=("instance 40%",))]
    return [cifar_case(noises=("instance 40%", "look-alike 20%"))]


def tiny_cases(quick):
    params = dict(max_epochs=4, lr=1e-2)
    return [Case("digits", partial(data.sklearn_set, "digits"), params, noises=("symmetric 40%",))]


ABLATIONS = ["ours", "ours (mixture='per_class')", "ours (strength=1.0)",
             "ours (warmup_fraction=0.1)", "ours (warmup_fraction=0.5)", "ours (views=None)",
             "last warm-up weights", "no consistency term"]  # fmt: skip
SUITES = {
    "headline": Suite(
        "With 40% wrong labels, is ours more accurate than plain training, early stopping and "
        "cleanlab with the same network, does it find the wrong labels, and at what cost?",
        headline_cases, [*BASELINES, "cleaner + plain", "clean labels"], headline_report),
    "ablations": Suite(
        "What does each part of the method contribute at 40% symmetric noise?",
        ablation_cases, ABLATIONS, variants_report),
    "robustness": Suite(
        "Off the path the defaults were chosen on (unscaled features, imbalanced classes, clean "
        "labels, a user's module, other learning rates and budgets), does ours lose to plain "
        "training?", robustness_cases, BASELINES, comparison_report),
    "settings": Suite(
        "Over settings drawn at random (optimiser, lr, batch size, epochs, network, mixture), how "
        "often and by how much does ours lose to plain training?",
        settings_cases, ["plain", "ours"], settings_report),
    "tables": Suite(
        "On 15 real tables (imbalanced, many-class, categorical, with missing values), with "
        "defaults: is ours as accurate as plain training, and does it rank wrong labels first?",
        tables_cases, BASELINES, comparison_report),
    "ranking": Suite(
        "With 0.5-3% wrong labels, how many of the rows ranked most suspect are wrong "
        "(precision among the top k, k = the number of wrong labels)?",
        ranking_cases, ["ours", "cleanlab"], ranking_report),
    "noise-rates": Suite(
        "From clean labels to 60% noise on digits, how do the global and the per-class mixture "
        "compare with plain training?",
        noise_rate_cases, ["plain", "ours", "ours (mixture='per_class')"], noise_rates_report),
    "images": Suite(
        "On CIFAR-10 with instance-dependent and look-alike noise and a small ResNet: accuracy and "
        "detection against the baselines (meant for a GPU).",
        image_cases, [*BASELINES, "clean labels"], headline_report),
    "tiny": Suite("Does the harness run end to end? (seconds; for the tests)", tiny_cases,
                  ["plain", "ours"], headline_report),
}  # fmt: skip
