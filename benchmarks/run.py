"""Noisy-label benchmark: are the wrong labels found, does the model improve, at what cost?

Runs cases x noise x methods x seeds and compares ``WrongEventClassifier`` and
``WrongEventCleaner`` with what a user would pick instead, all with the same
network, optimiser, learning rate, batch size and epochs:

- ``plain``: ``NetClassifier`` (skorch's classifier with label encoding,
  shuffling and seeding), trained on the noisy labels;
- ``early stopping``: the same, stopped by skorch's ``EarlyStopping`` on a
  20% hold-out of the noisy data (best weights restored);
- ``cleanlab``: cleanlab's ``CleanLearning`` wrapping the same skorch net
  (5-fold cross-validation, then a fit on the rows it keeps: 6 fits);
- ``ENN + net``: imbalanced-learn's ``EditedNearestNeighbours``, then the net
  (tabular cases only);
- ``WrongEventClassifier``; ``WrongEventCleaner + net`` (the cleaner's
  classifier gets at most 20 epochs, its default);
- ``clean labels``: the net on the true labels, the upper bound.

Metrics: clean-test accuracy; detection AUROC and average precision of the
method's noise score, and precision, recall and F1 of its noise mask; fit
time and its ratio to the plain fit of the same case, noise and seed.

Targets, checked in the output: fit time <= 0.4x cleanlab's and
<= 2.5x plain; AUROC and accuracy >= cleanlab's and the early-stopped
model's on every case; accuracy within 2 points of the clean-label bound at
40% symmetric noise on digits and MNIST; on the images with instance-dependent
40% noise, accuracy >= 5 points above cleanlab's and the early-stopped
model's, AUROC >= 0.85 and fit time <= 2x plain.

``--ablations`` instead runs variants of ``WrongEventClassifier`` at 40%
symmetric noise: global against per-class mixture, base model against the
last warm-up weights, consistency term on and off, the authors'
batch-broadcast noisy term against the per-row one, the warm-up share, and
views against none.

Commands (2 CPU cores)::

    python benchmarks/run.py --quick               # about 3 minutes
    python benchmarks/run.py                       # about 90 minutes
    python benchmarks/run.py --cases cifar         # CIFAR-10 alone: about an hour
    python benchmarks/run.py --cases cifar-resnet18 --methods plain "early stopping" \
        cleanlab WrongEventClassifier "clean labels"   # ResNet-18: 5 minutes on one H200 GPU
    python benchmarks/run.py --ablations --quick   # under a minute
    python benchmarks/run.py --ablations           # about 7 minutes

Writes ``benchmarks/results/benchmark[_quick][_cuda].md`` (or ``ablations``), a JSON
file of every measurement and PNG plots; prints the tables. ``--report``
rewrites the tables from the JSON file without running anything.
"""

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import loaders
import numpy as np
import torch
from sklearn.metrics import average_precision_score, precision_recall_fscore_support, roc_auc_score
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit

from skwrongevent import (
    ImageViews,
    NetClassifier,
    WrongEventClassifier,
    WrongEventCleaner,
    inject_label_noise,
)

RESULTS = Path(__file__).parent / "results"
NOISES = {
    "symmetric 20%": ("symmetric", 0.2),
    "symmetric 40%": ("symmetric", 0.4),
    "symmetric 60%": ("symmetric", 0.6),
    "pair 40%": ("pair", 0.4),
    "instance 40%": ("instance", 0.4),
    # 20% of all rows, from the case's look-alike classes only (40% of theirs on CIFAR-10)
    "look-alike 20%": ("look-alike", 0.2),
}
# With two classes, 60% symmetric noise makes the wrong label the majority (nothing can
# learn the true concept) and pair noise is the same as symmetric noise.
BINARY_NOISES = ["symmetric 20%", "symmetric 40%", "instance 40%"]
METHODS = [
    "plain",
    "early stopping",
    "cleanlab",
    "ENN + net",
    "WrongEventClassifier",
    "WrongEventCleaner + net",
    "clean labels",
]
SETTINGS = dict(lr=3e-3, batch_size=128)


@dataclass
class Case:
    load: callable
    epochs: int
    module: type = None  # None: skwrongevent's MLP sized from the data
    views: object = "auto"
    noises: list = field(default_factory=lambda: list(NOISES))
    seeds: int = 1
    look_alike: dict = None  # {class: the class its images are mistaken for}

    @property
    def images(self):
        return self.module is not None


def cases(quick):
    """The benchmark's cases; ``--quick`` keeps the cheap ones and one noise for MNIST."""
    mnist = Case(
        lambda: loaders.mnist(5000 if quick else 10000),
        15,
        loaders.MnistCNN,
        ImageViews(flip=False),
        noises=["symmetric 40%", "instance 40%"],
        seeds=3,
    )
    if quick:
        mnist.noises, mnist.seeds = ["symmetric 40%"], 1
        return {
            "digits": Case(loaders.digits, 40),
            "breast_cancer": Case(loaders.breast_cancer, 40, noises=BINARY_NOISES),
            "mnist": mnist,
        }
    return {
        "digits": Case(loaders.digits, 40, seeds=3),
        "breast_cancer": Case(loaders.breast_cancer, 40, noises=BINARY_NOISES, seeds=3),
        "letter": Case(loaders.letter, 20),
        "mnist": mnist,
        "cifar": Case(
            loaders.cifar,
            15,
            loaders.SmallResNet,
            ImageViews(flip=True),
            noises=["instance 40%", "look-alike 20%"],
            look_alike=loaders.CIFAR_LOOK_ALIKE,
        ),
    }


# Run only when named in --cases: meant for a GPU.
NAMED_ONLY = {
    "cifar-resnet18": Case(
        lambda: loaders.cifar(20000),
        15,
        loaders.ResNet18,
        ImageViews(flip=True),
        noises=["instance 40%"],
    ),
}


# ---------------------------------------------------------------------------
# Methods
# ---------------------------------------------------------------------------


def network(case, seed, epochs=None, **params):
    """The plain net: NetClassifier, the same network and settings trained plainly."""
    settings = dict(max_epochs=epochs or case.epochs, random_state=seed, device=DEVICE, **SETTINGS)
    return NetClassifier(case.module, **{**settings, **params})


def robust(case, seed, epochs=None, **params):
    return WrongEventClassifier(
        case.module,
        max_epochs=epochs or case.epochs,
        views=case.views,
        random_state=seed,
        device=DEVICE,
        **SETTINGS,
        **params,
    )


def run_method(method, case, X, y_noisy, y_true, seed):
    """Fit one method; return its test model, noise score and noise mask (None where none)."""

    def make_net(**params):
        return network(case, seed, **params)

    if method == "plain":
        return make_net().fit(X, y_noisy), None, None
    if method == "clean labels":
        return make_net().fit(X, y_true), None, None
    if method == "early stopping":
        net = make_net(
            train_split=ValidSplit(0.2, stratified=True, random_state=seed),
            callbacks=[EarlyStopping(patience=5, load_best=True)],
        )
        return net.fit(X, y_noisy), None, None
    if method == "cleanlab":
        from cleanlab.classification import CleanLearning

        model = CleanLearning(make_net(), seed=seed, verbose=False).fit(X, y_noisy)
        issues = model.get_label_issues()
        return model, 1 - issues["label_quality"].to_numpy(), issues["is_label_issue"].to_numpy()
    if method == "ENN + net":
        from imblearn.under_sampling import EditedNearestNeighbours

        enn = EditedNearestNeighbours()
        X_kept, y_kept = enn.fit_resample(X, y_noisy)
        mask = np.ones(len(y_noisy), dtype=bool)
        mask[enn.sample_indices_] = False
        return make_net().fit(X_kept, y_kept), None, mask
    if method == "WrongEventClassifier":
        model = robust(case, seed).fit(X, y_noisy)
        return model, -model.label_quality_, model.noise_mask_
    if method == "WrongEventCleaner + net":
        # The cleaner's own default is 20 epochs; fewer leave too short a warm-up.
        cleaner = WrongEventCleaner(
            robust(case, seed, epochs=min(case.epochs, 20)), random_state=seed
        )
        X_kept, y_kept = cleaner.fit_resample(X, y_noisy)
        return make_net().fit(X_kept, y_kept), -cleaner.label_quality_, cleaner.noise_mask_
    raise ValueError(method)


def detection(is_wrong, score, mask):
    result = {}
    if score is not None:
        result["auroc"] = roc_auc_score(is_wrong, score)
        result["ap"] = average_precision_score(is_wrong, score)
    if mask is not None:
        precision, recall, f1, _ = precision_recall_fscore_support(
            is_wrong, mask, average="binary", zero_division=0
        )
        result.update(precision=precision, recall=recall, f1=f1)
    return result


def noisy_labels(y, noise, X, seed, look_alike=None):
    kind, rate = NOISES[noise]
    if kind == "look-alike":
        kind, pairs = "pair", look_alike
    else:
        pairs = None
    X = X.reshape(len(X), -1)
    return inject_label_noise(y, rate, kind=kind, X=X, pairs=pairs, random_state=seed)


def benchmark(case_names, quick, methods):
    records, curves = [], {}
    named = {name: case for name, case in NAMED_ONLY.items() if name in (case_names or [])}
    for name, case in {**cases(quick), **named}.items():
        if case_names and name not in case_names:
            continue
        X_train, y_train, X_test, y_test = case.load()
        warm_up(case, X_train, y_train)
        for noise in case.noises:
            for seed in range(case.seeds):
                y_noisy, is_wrong = noisy_labels(y_train, noise, X_train, seed, case.look_alike)
                for method in methods:
                    if method == "ENN + net" and case.images:
                        continue
                    start = time.perf_counter()
                    model, score, mask = run_method(method, case, X_train, y_noisy, y_train, seed)
                    seconds = time.perf_counter() - start
                    record = dict(case=name, noise=noise, seed=seed, method=method, seconds=seconds)
                    record["accuracy"] = float((model.predict(X_test) == y_test).mean())
                    record.update(detection(is_wrong, score, mask))
                    records.append(record)
                    if score is not None and noise == "symmetric 40%" and seed == 0:
                        curves[(name, method)] = (is_wrong, score)
                    print(json.dumps(record), flush=True)
    return records, curves


def warm_up(case, X, y):
    """Untimed short fits, so the first timed fits do not pay for start-up costs."""
    rows = slice(None, None, max(1, len(y) // 512))  # spread over the classes
    network(case, 0, epochs=1).fit(X[rows], y[rows])
    robust(case, 0, epochs=2).fit(X[rows], y[rows])


# ---------------------------------------------------------------------------
# Ablations
# ---------------------------------------------------------------------------


class LastWarmupWeights(WrongEventClassifier):
    """Starts robust training from the last warm-up epoch instead of the selected base model.

    The warm-up itself ends as usual; only the weights robust training starts from differ.
    """

    def _end_warmup(self, context):
        context.base_state = None  # keep the weights the warm-up ended with
        super()._end_warmup(context)


class NoConsistency(WrongEventClassifier):
    """Drops the consistency term: with F_0 = 0 and p_1 = 1 its weight is zero."""

    def get_robust_loss(
        self, logits_weak, logits_strong, y_true, clean, noisy, clean_cdf, noisy_cdf, **kwargs
    ):
        zeros, ones = torch.zeros_like(clean), torch.ones_like(noisy)
        return super().get_robust_loss(
            logits_weak, logits_strong, y_true, clean, ones, zeros, noisy_cdf, **kwargs
        )


class BroadcastNoisyTerm(WrongEventClassifier):
    """The authors' released code: the noisy term becomes mean(conf) * mean((1 - p) H)."""

    def get_robust_loss(
        self, logits_weak, logits_strong, y_true, clean, noisy, clean_cdf, noisy_cdf, **kwargs
    ):
        ours = super().get_robust_loss(
            logits_weak, logits_strong, y_true, clean, noisy, clean_cdf, noisy_cdf, **kwargs
        )
        mean_proba = ((logits_weak.softmax(1) + logits_strong.softmax(1)) / 2).clamp(1e-4, 1 - 1e-4)
        confidence = mean_proba.max(dim=1).values
        entropy = -(mean_proba * mean_proba.log()).sum(dim=1)
        noisy_entropy = (1 - clean.detach()) * entropy
        # Swap our per-row noisy term for the product of the batch means.
        return ours - (confidence * noisy_entropy).mean() + confidence.mean() * noisy_entropy.mean()


ABLATIONS = {
    "default (global mixture, base model, all terms, views)": (WrongEventClassifier, {}),
    "per-class mixture": (WrongEventClassifier, {"mixture": "per_class"}),
    "last warm-up weights instead of the base model": (LastWarmupWeights, {}),
    "no consistency term": (NoConsistency, {}),
    "authors' batch-broadcast noisy term": (BroadcastNoisyTerm, {}),
    "warm-up share 0.1": (WrongEventClassifier, {"warmup_fraction": 0.1}),
    "warm-up share 0.5": (WrongEventClassifier, {"warmup_fraction": 0.5}),
    "no views (the batch itself twice)": (WrongEventClassifier, {"views": None}),
}


def ablations(case_names, quick):
    chosen = {"digits": 3, "letter": 1, "mnist": 1} if not quick else {"digits": 2}
    records = []
    for name, case in cases(False).items():
        if name not in chosen or (case_names and name not in case_names):
            continue
        X_train, y_train, X_test, y_test = case.load()
        warm_up(case, X_train, y_train)
        for seed in range(chosen[name]):
            y_noisy, is_wrong = noisy_labels(y_train, "symmetric 40%", X_train, seed)
            for variant, (cls, params) in ABLATIONS.items():
                model = cls(
                    case.module,
                    max_epochs=case.epochs,
                    random_state=seed,
                    device=DEVICE,
                    **{"views": case.views, **SETTINGS, **params},
                )
                start = time.perf_counter()
                model.fit(X_train, y_noisy)
                record = dict(case=name, seed=seed, method=variant)
                record["seconds"] = time.perf_counter() - start
                record["accuracy"] = float((model.predict(X_test) == y_test).mean())
                record.update(detection(is_wrong, -model.label_quality_, model.noise_mask_))
                records.append(record)
                print(json.dumps(record), flush=True)
    return records


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def median(records, metric, **where):
    chosen = [r for r in records if all(r.get(key) == value for key, value in where.items())]
    values = [r[metric] for r in chosen if metric in r]
    return float(np.median(values)) if values else None


def fmt(value, digits=3):
    return "-" if value is None else f"{value:.{digits}f}"


def add_time_ratios(records):
    def key(record):
        return record["case"], record["noise"], record["seed"]

    plain = {key(r): r["seconds"] for r in records if r["method"] == "plain"}
    for record in records:
        if key(record) in plain:
            record["time / plain"] = record["seconds"] / plain[key(record)]


def results_table(records):
    lines = []
    for case in dict.fromkeys(r["case"] for r in records):
        noises = list(dict.fromkeys(r["noise"] for r in records if r["case"] == case))
        seeds = len({r["seed"] for r in records if r["case"] == case})
        lines += [f"### {case} (median of {seeds} seed{'s' * (seeds > 1)})", ""]
        header = " | ".join(f"{noise}: acc / AUROC / F1" for noise in noises)
        lines += [f"| method | {header} | time / plain |", "|---" * (len(noises) + 2) + "|"]
        for method in METHODS:
            if not any(r["case"] == case and r["method"] == method for r in records):
                continue
            cells = [
                " / ".join(
                    fmt(median(records, m, case=case, noise=n, method=method))
                    for m in ("accuracy", "auroc", "f1")
                )
                for n in noises
            ]
            ratio = fmt(median(records, "time / plain", case=case, method=method), 2)
            lines.append(f"| {method} | " + " | ".join(cells) + f" | {ratio} |")
        lines.append("")
    return lines


def headline_table(records):
    """One row per case at 40% symmetric noise, or at each noise of a case without it."""
    lines = [
        "| case (noise) | plain | early stopping | cleanlab | WrongEventClassifier "
        "| WrongEventCleaner + net | clean labels | AUROC: cleanlab / ours "
        "| time: ours / plain, ours / cleanlab |",
        "|---" * 9 + "|",
    ]
    for case, noise in dict.fromkeys((r["case"], r["noise"]) for r in records):
        noises = {r["noise"] for r in records if r["case"] == case}
        if "symmetric 40%" in noises and noise != "symmetric 40%":
            continue

        def get(metric, method, case=case, noise=noise):
            return median(records, metric, case=case, noise=noise, method=method)

        accuracy = " | ".join(
            fmt(get("accuracy", method)) for method in METHODS if method != "ENN + net"
        )
        ours, cleanlab = get("seconds", "WrongEventClassifier"), get("seconds", "cleanlab")
        lines.append(
            f"| {case} ({noise}) | {accuracy} | {fmt(get('auroc', 'cleanlab'))} / "
            f"{fmt(get('auroc', 'WrongEventClassifier'))} | "
            f"{fmt(get('time / plain', 'WrongEventClassifier'), 2)}, "
            f"{fmt(ours / cleanlab if cleanlab else None, 2)} |"
        )
    return lines


def target_lines(records):
    """Each target, per case and noise, as met or missed with its numbers."""
    lines = ["| case | noise | target | ours | bound | verdict |", "|---|---|---|---|---|---|"]
    for case, noise in dict.fromkeys((r["case"], r["noise"]) for r in records):

        def get(metric, method, case=case, noise=noise):
            return median(records, metric, case=case, noise=noise, method=method)

        ours = "WrongEventClassifier"
        # (target, our value, bound, whether higher is better)
        checks = [("time <= 2.5x plain", get("time / plain", ours), 2.5, False)]
        if get("seconds", "cleanlab") is not None:
            bound = 0.4 * get("seconds", "cleanlab")
            checks.append(("time <= 0.4x cleanlab (s)", get("seconds", ours), bound, False))
            checks.append(("AUROC >= cleanlab", get("auroc", ours), get("auroc", "cleanlab"), True))
        for rival in ("cleanlab", "early stopping"):
            if get("accuracy", rival) is not None:
                checks.append(
                    (f"accuracy >= {rival}", get("accuracy", ours), get("accuracy", rival), True)
                )
        # People's kind of noise, on images
        if noise == "instance 40%" and case.startswith(("mnist", "cifar")):
            checks.append(("time <= 2x plain", get("time / plain", ours), 2.0, False))
            checks.append(("AUROC >= 0.85", get("auroc", ours), 0.85, True))
            for rival in ("cleanlab", "early stopping"):
                bound = get("accuracy", rival) + 0.05
                checks.append((f"accuracy >= {rival} + 0.05", get("accuracy", ours), bound, True))
        if noise == "symmetric 40%" and case in ("digits", "mnist"):
            bound = get("accuracy", "clean labels") - 0.02
            checks.append(("accuracy >= clean labels - 0.02", get("accuracy", ours), bound, True))
        for target, value, bound, higher in checks:
            met = value >= bound - 1e-12 if higher else value <= bound + 1e-12
            verdict = "met" if met else "**missed**"
            lines.append(f"| {case} | {noise} | {target} | {value:.3f} | {bound:.3f} | {verdict} |")
    return lines


def ablation_table(records):
    lines = ["| case | variant | accuracy | AUROC | F1 | time / default |", "|---" * 6 + "|"]
    for case in dict.fromkeys(r["case"] for r in records):
        base = median(records, "seconds", case=case, method=next(iter(ABLATIONS)))
        for variant in ABLATIONS:

            def get(metric, case=case, variant=variant):
                return median(records, metric, case=case, method=variant)

            lines.append(
                f"| {case} | {variant} | {fmt(get('accuracy'))} | {fmt(get('auroc'))} | "
                f"{fmt(get('f1'))} | {fmt(get('seconds') / base, 2)} |"
            )
    return lines


def plot(records, curves, stem):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    accuracy_plot(records, stem, plt)
    if not curves:
        return
    from sklearn.metrics import precision_recall_curve

    names = list(dict.fromkeys(case for case, _ in curves))
    figure, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.4), squeeze=False)
    for ax, case in zip(axes[0], names, strict=True):
        for (curve_case, method), (is_wrong, score) in curves.items():
            if curve_case == case:
                precision, recall, _ = precision_recall_curve(is_wrong, score)
                ax.plot(recall, precision, label=method)
        ax.set(title=f"{case}, symmetric 40%", xlabel="recall", ylabel="precision", ylim=(0, 1.02))
    axes[0, -1].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(RESULTS / f"{stem}_detection.png", dpi=100)


def accuracy_plot(records, stem, plt):
    """Clean-test accuracy against the symmetric noise rate, one panel per case with it."""
    symmetric = [n for n in NOISES if n.startswith("symmetric")]
    case_names = list(dict.fromkeys(r["case"] for r in records if r["noise"] in symmetric))
    if not case_names:
        return
    size = (4 * len(case_names), 3.4)
    figure, axes = plt.subplots(1, len(case_names), figsize=size, squeeze=False)
    for ax, case in zip(axes[0], case_names, strict=True):
        for method in METHODS:
            points = [
                (NOISES[n][1], median(records, "accuracy", case=case, noise=n, method=method))
                for n in symmetric
            ]
            points = [(x, y) for x, y in points if y is not None]
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", label=method)
        ax.set(title=case, xlabel="symmetric noise rate", ylabel="clean-test accuracy")
    axes[0, -1].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(RESULTS / f"{stem}_accuracy.png", dpi=100)


def main():
    global DEVICE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the cheap cases; under 10 minutes")
    parser.add_argument("--ablations", action="store_true", help="run the ablations instead")
    parser.add_argument(
        "--cases", nargs="*", help="only these cases; the others keep their last results"
    )
    parser.add_argument("--methods", nargs="*", default=METHODS, choices=METHODS)
    parser.add_argument(
        "--report", action="store_true", help="only rewrite the tables from the stored results"
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads per fit (time ratios need one)"
    )
    args = parser.parse_args()
    DEVICE = args.device
    torch.set_num_threads(args.threads)
    RESULTS.mkdir(exist_ok=True)
    stem = ("ablations" if args.ablations else "benchmark") + ("_quick" if args.quick else "")
    if DEVICE != "cpu":
        stem += "_" + DEVICE.split(":")[0]
    command = "python benchmarks/run.py" + " --ablations" * args.ablations + " --quick" * args.quick
    lines = [f"Made by `{command}` on device {DEVICE}, {args.threads} torch thread(s).", ""]
    path = RESULTS / f"{stem}.json"
    curves = {}
    if args.report:
        records = json.loads(path.read_text())
    else:
        if args.ablations:
            records = ablations(args.cases, args.quick)
        else:
            records, curves = benchmark(args.cases, args.quick, args.methods)
            add_time_ratios(records)
        if args.cases and path.exists():  # --cases re-runs those cases and keeps the others
            previous = json.loads(path.read_text())
            records = [r for r in previous if r["case"] not in args.cases] + records
            order = list(cases(args.quick)) + list(NAMED_ONLY)
            records.sort(key=lambda r: order.index(r["case"]) if r["case"] in order else len(order))
        path.write_text(json.dumps(records, indent=1))
    if args.ablations:
        lines += ablation_table(records)
    else:
        lines += ["### Headline", ""] + headline_table(records) + [""]
        lines += results_table(records) + ["### Targets", ""] + target_lines(records)
        # The precision-recall curves are not stored: a run of some cases keeps the old figure.
        plot(records, {} if args.cases else curves, stem)
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


DEVICE = "cpu"

if __name__ == "__main__":
    main()
