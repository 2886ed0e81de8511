"""Cases, methods, fits and records: what every suite is made of.

A suite runs every (case, noise, method, seed) it declares and appends one
JSON record per fit to ``results/<suite>.jsonl``: the suite, case, noise,
method and seed, the metrics, the fit's seconds, the device, the threads,
the commit and the library versions. Reports read the newest record of each
fit, so a rerun replaces earlier numbers and keeps them in the file.
"""

import ast
import functools
import json
import os
import platform
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sklearn
import skorch
import torch
from data import noisy_labels
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from skorch.callbacks import Callback, EarlyStopping
from skorch.dataset import ValidSplit

from skwrongevent import NetClassifier, WrongEventClassifier, WrongEventCleaner

RESULTS = Path(os.environ.get("SKWRONGEVENT_RESULTS", Path(__file__).parent / "results"))


@dataclass
class Case:
    """Data and the network every method trains on it, with the same settings."""

    name: str
    load: callable  # () -> X_train, y_train, X_test, y_test
    params: dict = field(default_factory=dict)  # the nets' parameters: module, lr, max_epochs...
    ours: dict = field(default_factory=dict)  # WrongEventClassifier's own parameters
    noises: tuple = ("symmetric 40%",)
    seeds: object = 1  # a number of seeds from 0, or the seeds themselves
    look_alike: dict = None  # pair noise's target class of each class, where not the next

    def net(self, seed, cls=NetClassifier, **params):
        settings = {"random_state": seed, "device": DEVICE, **self.params, **params}
        if issubclass(cls, WrongEventClassifier):
            settings = {**self.ours, **settings}
        return cls(**settings)

    @property
    def seed_values(self):
        return range(self.seeds) if isinstance(self.seeds, int) else self.seeds


DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


# ---------------------------------------------------------------------------
# Methods: each fits on (X, y) and returns the model that predicts the test rows, a suspicion
# score per training row (higher: more likely wrong), a noise mask, and extra metrics.
# ---------------------------------------------------------------------------


def plain(case, seed, X, y, y_true):
    net = case.net(seed).fit(X, y)
    return net, None, None, {"converged": converged(net.history[:, "train_loss"])}


def clean_labels(case, seed, X, y, y_true):
    return case.net(seed).fit(X, y_true), None, None, {}


def early_stopping(case, seed, X, y, y_true):
    net = case.net(
        seed,
        train_split=ValidSplit(0.2, stratified=False, random_state=seed),
        callbacks=[EarlyStopping(patience=5, load_best=True)],
    )
    return net.fit(X, y), None, None, {}


def cleanlab(case, seed, X, y, y_true, folds=5):
    from cleanlab.classification import CleanLearning

    # Every class named, so that a fold without a rare class still predicts all columns; one
    # process, since cleanlab's own pool cannot start inside a worker.
    net = case.net(seed, classes=np.unique(y))
    model = CleanLearning(
        net, seed=seed, cv_n_folds=folds, verbose=False, find_label_issues_kwargs={"n_jobs": 1}
    ).fit(X, y)
    issues = model.get_label_issues()
    return model, 1 - issues["label_quality"].to_numpy(), issues["is_label_issue"].to_numpy(), {}


def ours(case, seed, X, y, y_true, cls=WrongEventClassifier, **params):
    model = case.net(seed, cls, **params).fit(X, y)
    return model, -model.label_quality_, model.noise_mask_, _our_metrics(model)


def cleaner_then_plain(case, seed, X, y, y_true):
    cleaner = WrongEventCleaner(case.net(seed, WrongEventClassifier), random_state=seed)
    X_kept, y_kept = cleaner.fit_resample(X, y)
    return case.net(seed).fit(X_kept, y_kept), -cleaner.label_quality_, cleaner.noise_mask_, {}


def _our_metrics(model):
    return {
        "detection_auroc": float(model.detection_auroc_),
        "evidence_strength": float(model.evidence_strength_),
        "robust_epochs": int(model.robust_epochs_),
        "counts": model.wrong_events_,  # read against the wrong labels, then dropped
    }


def converged(losses):
    """Whether training had stopped improving: its loss fell under 5% over the last quarter."""
    tail = losses[-max(2, len(losses) // 4) :]
    return bool(tail[-1] >= 0.95 * tail[0])


class LastWarmupWeights(Callback):
    """Starts the robust stage from the last warm-up epoch's weights, not the base model's."""

    def on_epoch_end(self, net, **kwargs):
        if net.history[-1, "stage"] == 1:
            self.state_ = {k: v.clone() for k, v in net.module_.state_dict().items()}

    def on_batch_begin(self, net, training=False, **kwargs):
        if training and net.history[-1, "stage"] == 2 and getattr(self, "state_", None):
            net.module_.load_state_dict(self.state_)
            self.state_ = None


class NoConsistency(WrongEventClassifier):
    """The robust loss without its consistency term (clean CDF 0, noisy probability 1)."""

    def get_robust_loss(
        self, logits_weak, logits_strong, y_true, clean, noisy, clean_cdf, noisy_cdf, **kwargs
    ):
        return super().get_robust_loss(
            logits_weak,
            logits_strong,
            y_true,
            clean,
            torch.ones_like(noisy),
            torch.zeros_like(clean),
            noisy_cdf,
            **kwargs,
        )


def last_warmup_weights(case, seed, X, y, y_true):
    return ours(case, seed, X, y, y_true, callbacks=[LastWarmupWeights()])


def no_consistency_term(case, seed, X, y, y_true):
    return ours(case, seed, X, y, y_true, cls=NoConsistency)


METHODS = {
    "plain": plain,
    "early stopping": early_stopping,
    "cleanlab": cleanlab,
    "ours": ours,
    "cleaner + plain": cleaner_then_plain,
    "clean labels": clean_labels,
    "last warm-up weights": last_warmup_weights,
    "no consistency term": no_consistency_term,
}


def method(name):
    """A method by name; ``ours (key=value, ...)`` is ours with those parameters (literals)."""
    if name in METHODS:
        return METHODS[name]
    base, _, arguments = name.partition(" (")
    pairs = (pair.split("=", 1) for pair in arguments.rstrip(")").split(", "))
    params = {key: ast.literal_eval(value) for key, value in pairs}
    return functools.partial(METHODS[base], **params)


# ---------------------------------------------------------------------------
# A fit and its record
# ---------------------------------------------------------------------------


def auroc(is_wrong, suspicion):
    if suspicion is None or not 0 < is_wrong.sum() < len(is_wrong):
        return None
    return float(roc_auc_score(is_wrong, np.asarray(suspicion, dtype=np.float64)))


def run_fit(suite, case, noise, method_name, seed, threads=None):
    """Fit one method on one case; its record (an error is recorded, not raised)."""
    if threads:
        torch.set_num_threads(threads)
    record = dict(suite=suite, case=case.name, noise=noise, method=method_name, seed=seed)
    try:
        X, y_true, X_test, y_test = case.load()
        y, is_wrong = noisy_labels(y_true, noise, X, seed, case.look_alike)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the verdict's warnings are for users, not records
            _warm_up(case, X, y)
            start = time.perf_counter()
            model, suspicion, mask, extra = method(method_name)(case, seed, X, y, y_true)
            seconds = time.perf_counter() - start
        predicted = model.predict(X_test)
        counts = extra.pop("counts", None)
        metrics = dict(
            accuracy=float(np.mean(predicted == y_test)),
            balanced_accuracy=float(balanced_accuracy_score(y_test, predicted)),
            predicted_classes=len(np.unique(predicted)),
            auroc=auroc(is_wrong, suspicion),
            auroc_counts=auroc(is_wrong, counts),
            **extra,
        )
        if mask is not None:
            metrics["flagged"] = float(np.mean(mask))
            if is_wrong.any():
                metrics["precision"] = float(is_wrong[mask].mean()) if mask.any() else 0.0
                metrics["recall"] = float(mask[is_wrong].mean())
        if suspicion is not None and is_wrong.any():  # precision among the k most suspect rows
            k = int(is_wrong.sum())
            top = np.argsort(-np.asarray(suspicion, dtype=np.float64), kind="stable")[:k]
            metrics["precision_at_k"] = float(is_wrong[top].mean())
        record["metrics"] = {k: v for k, v in metrics.items() if v is not None and v == v}
        record["seconds"] = round(seconds, 3)
    except Exception as error:  # noqa: BLE001
        record.update(metrics={"error": f"{type(error).__name__}: {error}"}, seconds=None)
    return {**record, **environment(threads)}


_warmed_up = False


def _warm_up(case, X, y):
    """An untimed short fit per process, so that no timed fit pays for start-up costs."""
    global _warmed_up
    if not _warmed_up:
        rows = slice(None, None, max(1, len(y) // 256))
        case.net(0, WrongEventClassifier, max_epochs=2, classes=np.unique(y)).fit(X[rows], y[rows])
        _warmed_up = True


def environment(threads=None):
    return dict(
        device=DEVICE if DEVICE == "cpu" else torch.cuda.get_device_name(),
        threads=threads or torch.get_num_threads(),
        commit=_commit(),
        versions=dict(
            python=platform.python_version(),
            torch=torch.__version__,
            skorch=skorch.__version__,
            sklearn=sklearn.__version__,
        ),
    )


def _commit():
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def append(suite, records, folder=None):
    folder = Path(folder or RESULTS)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{suite}.jsonl").open("a") as file:
        for record in records:
            file.write(json.dumps(record) + "\n")


def read(suite, folder=None):
    """The newest record of each (case, noise, method, seed) of a suite."""
    path = Path(folder or RESULTS) / f"{suite}.jsonl"
    newest = {}
    if path.exists():
        for line in path.read_text().splitlines():
            record = json.loads(line)
            newest[record["case"], record["noise"], record["method"], record["seed"]] = record
    return list(newest.values())
