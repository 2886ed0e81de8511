import copy
import pickle
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits, load_wine, make_classification
from sklearn.exceptions import NotFittedError
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback, EarlyStopping
from skorch.dataset import Dataset, ValidSplit
from skorch.helper import predefined_split

from skwrongevent import (
    BetaMixture,
    NetClassifier,
    TabularViews,
    WrongEventClassifier,
    WrongEventMixture,
    WrongEventTracker,
    WrongEventWarning,
    robust_loss,
    select_base_epoch,
)

# The blobs carry clean labels: with so few epochs the per-class mixture flags many clean rows
# (see test_common.py), so the fast setting uses the global one.
# strength=1.0: the robust stage acts in full wherever a test exercises it.
FAST = dict(
    max_epochs=20, warmup_fraction=0.5, lr=1e-2, batch_size=16, mixture="global", strength=1.0
)


# ---------------------------------------------------------------------------
# Counting and base-model selection on scripted inputs
# ---------------------------------------------------------------------------


def test_tracker_counts_wrong_events_and_changes_on_scripted_predictions():
    tracker = WrongEventTracker(torch.tensor([0, 1, 1, 0]))
    # Epoch 1, two batches in shuffled order: rows 2, 0 then rows 3, 1.
    tracker.record_warmup(torch.tensor([1, 0]), torch.tensor([2, 0]))
    tracker.record_warmup(torch.tensor([0, 0]), torch.tensor([3, 1]))
    assert tracker.counts(torch.arange(4)).tolist() == [0, 1, 0, 0]
    assert tracker.end_epoch() == (4, 4)  # every row's first prediction is new
    assert tracker.wrong.tolist() == [0, 1, 0, 0]
    # Epoch 2: row 1 now right, row 2 now wrong; row 3 is seen twice and counted once.
    tracker.record_warmup(torch.tensor([0, 1, 0, 1]), torch.arange(4))
    tracker.record_warmup(torch.tensor([1]), torch.tensor([3]))
    assert tracker.end_epoch() == (3, 4)  # rows 1, 2 and 3 changed
    assert tracker.wrong.tolist() == [0, 1, 1, 1]
    # Epoch 3 sees row 0 only: the others keep their count and prediction.
    tracker.record_warmup(torch.tensor([0]), torch.tensor([0]))
    assert tracker.end_epoch() == (0, 1)
    assert tracker.last_prediction.tolist() == [0, 1, 0, 1]


def test_tracker_sums_the_epoch_across_processes():
    # Two processes, each trained on its own rows: the sum makes the epoch whole.
    first, second = (
        WrongEventTracker(torch.tensor([0, 1, 1])),
        WrongEventTracker(torch.tensor([0, 1, 1])),
    )
    first.record_warmup(torch.tensor([1, 1]), torch.tensor([0, 1]))
    second.record_warmup(torch.tensor([0]), torch.tensor([2]))
    total = first.epoch_pass + second.epoch_pass
    for tracker in (first, second):
        assert tracker.end_epoch(all_reduce=lambda tensor: tensor.copy_(total)) == (3, 3)
        assert tracker.wrong.tolist() == [1, 0, 1]
        assert tracker.last_prediction.tolist() == [1, 1, 0]


def test_tracker_robust_counts_both_views_and_looks_up_weights_at_the_counts():
    labels = torch.tensor([0, 1, 1])
    tracker = WrongEventTracker(labels)
    # Table value at (class, count) = 10 * class + count, for every column.
    grid = torch.arange(6, dtype=torch.float32)
    table = torch.stack([grid, grid + 10]).unsqueeze(-1).repeat(1, 1, 4)
    tracker.use_verdict(table, clean_limit=torch.tensor([5, 5]))
    tracker.record_robust(torch.tensor([1, 1, 0]), torch.tensor([1, 0, 0]), torch.arange(3))
    assert tracker.counts(torch.arange(3)).tolist() == [2, 1, 2]  # the step's own counts
    clean, *_ = tracker.weights(torch.arange(3))
    assert clean.tolist() == [2, 11, 12]
    tracker.end_epoch()
    tracker.wrong[:] = 9  # counts beyond the table are clamped to its last column
    clean, *_ = tracker.weights(torch.arange(3))
    assert clean.tolist() == [5, 15, 15]


def test_tracker_weighs_a_flagged_row_predicted_as_its_label_as_clean():
    tracker = WrongEventTracker(torch.tensor([0, 0, 1]))
    # Class 0 is judged clean up to 2 wrong events, class 1 up to 4; column 2 holds the count.
    table = torch.zeros(2, 8, 4)
    table[0, :3, 0] = table[1, :5, 0] = 1.0
    table[:, :, 2] = torch.arange(8)
    tracker.use_verdict(table, clean_limit=torch.tensor([2, 4]))
    tracker.wrong[:] = 6
    # Row 0 is predicted as its label by both views, row 1 by neither, row 2 by the weak view.
    tracker.record_robust(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0]), torch.arange(3))
    clean, _, difficulty, _ = tracker.weights(torch.arange(3))
    assert clean.tolist() == [1.0, 0.0, 1.0]
    assert difficulty.tolist() == [2, 7, 4]  # at the class's largest clean count


@pytest.mark.parametrize(
    "curve, epoch",
    [
        ([], 1),  # one warm-up epoch: no curve
        ([50], 2),
        ([50, 40, 30], 4),  # decreasing to the end: last epoch
        ([50, 40, 45, 20], 3),  # first local minimum, not the global one
        ([50, 50, 10], 4),  # a first rise (or plateau) is read from its peak
        ([50, 60, 10], 4),
        ([50, 60, 70], 4),  # rising to the end: last epoch
    ],
)
def test_select_base_epoch_on_scripted_curves(curve, epoch):
    assert select_base_epoch(curve) == epoch


@pytest.mark.parametrize(
    "first_epoch, epoch",
    [(1, 3), (2, 5), (3, 5), (5, 7), (7, 7)],  # changes into first_epoch and before are skipped
)
def test_select_base_epoch_reads_the_curve_from_first_epoch(first_epoch, epoch):
    assert select_base_epoch([60, 40, 45, 30, 35, 20], first_epoch) == epoch


def test_base_model_is_a_deep_copy_of_the_chosen_epoch(blobs):
    X, y = blobs
    snapshots = []

    class Snapshot(Callback):
        def on_epoch_end(self, net, **kwargs):
            if net.history[-1, "stage"] == 1:
                snapshots.append({k: v.clone() for k, v in net.module_.state_dict().items()})

    class BaseAtThree(WrongEventClassifier):
        def select_base_epoch(self, prediction_changes, first_epoch=1):
            self.curves_ = getattr(self, "curves_", []) + [list(prediction_changes)]
            return min(len(prediction_changes) + 1, 3)

        def get_robust_loss(self, logits_weak, *args, **kwargs):
            if not hasattr(self, "start_"):  # before the robust stage's first step
                self.start_ = {k: v.clone() for k, v in self.module_.state_dict().items()}
            return super().get_robust_loss(logits_weak, *args, **kwargs)

    clf = BaseAtThree(
        max_epochs=8,
        warmup_fraction=0.75,
        lr=1e-2,
        strength=1.0,
        random_state=0,
        callbacks=[Snapshot()],
    ).fit(X, y)
    assert clf.base_epoch_ == 3
    # Called after every epoch from the first whose predictions beat chance.
    first = 6 - len(clf.curves_)
    assert first <= 1 and [len(curve) for curve in clf.curves_] == list(range(first, 6))
    np.testing.assert_array_equal(clf.prediction_changes_, clf.curves_[-1])
    for name, tensor in clf.start_.items():
        torch.testing.assert_close(tensor, snapshots[2][name])  # epoch 3, not later
    weight = "layers.0.weight"  # trained, unlike the input-scaling buffers
    assert not torch.equal(clf.start_[weight], snapshots[-1][weight])


# ---------------------------------------------------------------------------
# The loss, term by term
# ---------------------------------------------------------------------------


def test_robust_loss_matches_per_row_hand_computation():
    logits_weak = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    logits_strong = torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 2.0]])
    labels = torch.tensor([0, 1])
    clean = torch.tensor([0.9, 0.2])
    noisy = torch.tensor([0.1, 0.7])
    clean_cdf = torch.tensor([0.3, 0.95])
    noisy_cdf = torch.tensor([0.01, 0.4])

    expected = []
    for i in range(2):
        zw, zs, y = logits_weak[i].tolist(), logits_strong[i].tolist(), int(labels[i])
        ce = sum(np.log(np.exp(z).sum()) - z[y] for z in (np.array(zw), np.array(zs)))
        pw, ps = np.exp(zw) / np.exp(zw).sum(), np.exp(zs) / np.exp(zs).sum()
        q = np.clip((pw + ps) / 2, 1e-4, 1 - 1e-4)
        p, n, f0, f1 = float(clean[i]), float(noisy[i]), float(clean_cdf[i]), float(noisy_cdf[i])
        clean_term = p * ce
        consistency_term = (p * f0 + (1 - n) * (1 - f1)) * np.mean((np.array(zw) - zs) ** 2)
        noisy_term = (1 - p) * q.max() * -(q * np.log(q)).sum()
        expected.append(clean_term + consistency_term + noisy_term)

    loss = robust_loss(logits_weak, logits_strong, labels, clean, noisy, clean_cdf, noisy_cdf)
    assert float(loss) == pytest.approx(np.mean(expected), rel=1e-5)


def test_consistency_on_probabilities_compares_predictions_not_logit_scale():
    # Both views predict class 0 with near certainty; only their logits' scale differs.
    labels, ones, zeros = torch.tensor([0]), torch.ones(1), torch.zeros(1)
    weak, strong = torch.tensor([[10.0, 0.0]]), torch.tensor([[20.0, 0.0]])

    def consistency(weak, strong):  # weight 1; the noisy term is off
        loss = robust_loss(
            weak, strong, labels, ones, zeros, ones, ones, consistency="probabilities"
        )
        return float(loss - F.cross_entropy(weak, labels) - F.cross_entropy(strong, labels))

    assert consistency(weak, strong) < 1e-4
    assert 1.99 < consistency(weak, strong.flip(1)) <= 2.0  # views that disagree pay at most 2
    with pytest.raises(ValueError, match="consistency must be"):
        robust_loss(weak, strong, labels, ones, zeros, ones, ones, consistency="kl")


def test_noisy_term_is_per_row_not_broadcast_over_the_batch():
    # Only the noisy term is non-zero: clean = 0, identical views, consistency weight 0.
    logits = torch.tensor([[4.0, 0.0, 0.0], [0.3, 0.2, 0.1]])
    zeros, ones = torch.zeros(2), torch.ones(2)
    loss = robust_loss(logits, logits, torch.tensor([0, 1]), zeros, ones, zeros, ones)
    q = logits.softmax(dim=1).clamp(1e-4, 1 - 1e-4)
    confidence, entropy = q.max(dim=1).values, -(q * q.log()).sum(dim=1)
    assert float(loss) == pytest.approx(float((confidence * entropy).mean()), rel=1e-6)
    broadcast = float(confidence.mean() * entropy.mean())
    assert float(loss) != pytest.approx(broadcast, rel=1e-3)


def test_mixture_weights_get_no_gradient():
    logits_weak = torch.randn(4, 3, requires_grad=True)
    logits_strong = torch.randn(4, 3, requires_grad=True)
    weights = [torch.rand(4, requires_grad=True) for _ in range(4)]
    robust_loss(logits_weak, logits_strong, torch.tensor([0, 1, 2, 0]), *weights).backward()
    assert logits_weak.grad is not None and logits_strong.grad is not None
    assert all(w.grad is None for w in weights)


def test_verdict_table_holds_the_mixture_posteriors_and_cdfs():
    counts = np.r_[np.zeros(30), np.full(10, 6), [1, 2]]
    codes = np.arange(counts.size) % 2
    verdict = WrongEventMixture(n_classes=2, max_count=8).fit(counts, codes)
    assert verdict.table_.shape == (2, 9, 4)
    grid = np.arange(9)
    for code in (0, 1):
        np.testing.assert_allclose(
            verdict.table_[code, :, :2], verdict.mixture_.predict_proba(grid)
        )
        np.testing.assert_allclose(verdict.table_[code, :, 2:], verdict.mixture_.cdf(grid))


# ---------------------------------------------------------------------------
# End to end
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted_digits(noisy_digits):
    X_train, y_noisy, noise_mask, X_test, y_test = noisy_digits
    return WrongEventClassifier(random_state=0).fit(X_train, y_noisy)


def test_digits_detection_and_accuracy(fitted_digits, noisy_digits):
    X_train, y_noisy, noise_mask, X_test, y_test = noisy_digits
    clf = fitted_digits
    # The posterior rounds to 0 or 1 on most rows; label_quality keeps the counts' order.
    assert roc_auc_score(noise_mask, 1 - clf.sample_cleanliness_) >= 0.9
    assert clf.score(X_test, y_test) >= 0.88
    n = len(y_noisy)
    assert clf.wrong_events_.shape == clf.sample_difficulty_.shape == clf.noise_mask_.shape == (n,)
    assert clf.wrong_events_.dtype == np.int32 and clf.noise_mask_.dtype == bool
    assert clf.sample_cleanliness_.dtype == np.float64
    assert clf.sample_difficulty_.dtype == np.float32
    assert not np.any(clf.noise_mask_ & (clf.sample_cleanliness_ >= 0.5))
    assert roc_auc_score(noise_mask, -clf.label_quality_) >= 0.95
    assert 0.6 < clf.detection_auroc_ <= 1 and clf.evidence_strength_ > 0.2
    assert np.all((clf.sample_difficulty_ >= 0) & (clf.sample_difficulty_ <= 1))
    assert clf.wrong_events_.max() <= clf.warmup_epochs_ + 2 * clf.robust_epochs_
    # Clean rows sit lower inside the clean component than mislabelled ones.
    assert clf.sample_difficulty_[~noise_mask].mean() < clf.sample_difficulty_[noise_mask].mean()


def test_fitted_diagnostics_and_history(fitted_digits, noisy_digits):
    clf = fitted_digits
    assert clf.warmup_epochs_ + clf.robust_epochs_ == clf.max_epochs
    assert clf.prediction_changes_.shape == (clf.warmup_epochs_ - 1,)
    assert 1 <= clf.base_epoch_ <= clf.warmup_epochs_
    first_learned = 1  # digits are learned in the first epoch
    assert clf.base_epoch_ == select_base_epoch(clf.prediction_changes_, first_learned)
    assert clf.class_mixtures_ is None and isinstance(clf.mixture_, BetaMixture)
    # The fitted network's predictions, in evaluation mode on the rows themselves.
    np.testing.assert_array_equal(clf.predicted_labels_, clf.predict(noisy_digits[0]))
    # The evidence, nothing else: the final mixture's clean posterior at each row's count.
    np.testing.assert_allclose(
        clf.sample_cleanliness_, clf.mixture_.predict_proba(clf.wrong_events_)[:, 0], rtol=1e-9
    )
    stages = clf.history[:, "stage"]
    assert stages == [1] * clf.warmup_epochs_ + [2] * clf.robust_epochs_
    assert clf.history[1 : clf.warmup_epochs_, "prediction_change"] == list(clf.prediction_changes_)
    assert clf.device == "cpu" and clf.get_params()["device"] == "auto"


def test_per_class_mixture_option(noisy_digits):
    X_train, y_noisy, noise_mask, *_ = noisy_digits
    clf = WrongEventClassifier(mixture="per_class", max_epochs=12, random_state=0)
    clf.fit(X_train, y_noisy)
    assert len(clf.class_mixtures_) == 10
    assert all(isinstance(m, BetaMixture) for m in clf.class_mixtures_)
    assert not len(clf.capped_classes_)
    codes = np.searchsorted(clf.classes_, y_noisy)
    # Rows predicted as their label may be judged cleaner than their count says, never noisier.
    agrees = clf.predicted_labels_ == y_noisy
    for code, mixture in enumerate(clf.class_mixtures_):
        rows = codes == code
        expected = mixture.predict_proba(clf.wrong_events_[rows])[:, 0]
        cleanliness = clf.sample_cleanliness_[rows]
        np.testing.assert_allclose(cleanliness[~agrees[rows]], expected[~agrees[rows]], atol=1e-6)
        assert np.all(cleanliness[agrees[rows]] >= expected[agrees[rows]] - 1e-6)
    assert roc_auc_score(noise_mask, 1 - clf.sample_cleanliness_) > 0.9


def test_small_class_falls_back_to_global_mixture(blobs):
    X, y = blobs
    X, y = X[:45], y[:45]  # class 2 keeps 5 rows
    clf = WrongEventClassifier(random_state=0, **{**FAST, "mixture": "per_class"}).fit(X, y)
    assert clf.class_mixtures_[2] is clf.mixture_


def test_warmup_only_keeps_the_base_model(blobs):
    X, y = blobs
    clf = WrongEventClassifier(random_state=0, **{**FAST, "warmup_fraction": 1.0}).fit(X, y)
    assert clf.robust_epochs_ == 0 and clf.warmup_epochs_ == FAST["max_epochs"]
    assert clf.wrong_events_.max() <= FAST["max_epochs"]
    assert clf.score(X, y) > 0.9


@pytest.mark.parametrize("shape, expected", [((8,), "logits"), ((1, 6, 6), "probabilities")])
def test_consistency_is_on_probabilities_for_images(monkeypatch, shape, expected):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, *shape)).astype(np.float32)
    y = (X.reshape(60, -1)[:, 0] > 0).astype(int)
    used = set()

    def spy(*args, consistency="logits", **kwargs):
        used.add(consistency)
        return robust_loss(*args, consistency=consistency, **kwargs)

    monkeypatch.setattr("skwrongevent._classifier.robust_loss", spy)
    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(int(np.prod(shape)), 2))
    WrongEventClassifier(module, views=None, random_state=0, **FAST).fit(X, y)
    assert used == {expected}


def test_user_views_are_called(blobs):
    X, y = blobs
    calls = []

    def weak(batch):
        calls.append("weak")
        return batch

    def strong(batch):
        calls.append("strong")
        return batch * 0.9

    WrongEventClassifier(views=(weak, strong), random_state=0, **FAST).fit(X, y)
    assert calls.count("weak") == calls.count("strong") > 0


def test_get_robust_loss_is_the_overridable_step_of_the_robust_stage(blobs):
    X, y = blobs

    class ZeroLoss(WrongEventClassifier):
        def get_robust_loss(self, logits_weak, logits_strong, y_true, *weights, sample_weight=None):
            if not hasattr(self, "start_"):
                self.start_ = copy.deepcopy(self.module_.state_dict())
            self.calls_ = getattr(self, "calls_", 0) + 1
            assert all(weight.shape == y_true.shape for weight in weights)
            return 0 * logits_weak.sum()

    clf = ZeroLoss(random_state=0, **FAST).fit(X, y)
    assert clf.calls_ == clf.robust_epochs_ * 4  # 60 rows in batches of 16
    # With a zero loss only AdamW's weight decay (1e-2 * lr per step) moves the weights.
    for name, weight in clf.module_.state_dict().items():
        torch.testing.assert_close(weight, clf.start_[name], rtol=0.01, atol=1e-6)


# ---------------------------------------------------------------------------
# scikit-learn and skorch behaviour
# ---------------------------------------------------------------------------


def test_same_random_state_same_result_and_global_rng_untouched(blobs):
    X, y = blobs
    torch.manual_seed(123)
    before = torch.get_rng_state()
    first = WrongEventClassifier(random_state=7, **FAST).fit(X, y)
    assert torch.equal(torch.get_rng_state(), before)
    second = WrongEventClassifier(random_state=7, **FAST).fit(X, y)
    np.testing.assert_array_equal(first.wrong_events_, second.wrong_events_)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    third = WrongEventClassifier(random_state=8, **FAST).fit(X, y)
    assert not np.array_equal(first.predict_proba(X), third.predict_proba(X))


def test_string_labels_round_trip(blobs):
    X, y = blobs
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = WrongEventClassifier(random_state=0, **FAST).fit(X, names)
    np.testing.assert_array_equal(clf.classes_, ["setosa", "versicolor", "virginica"])
    assert set(clf.predict(X)) <= set(names)
    assert clf.score(X, names) > 0.9


def test_classes_parameter_allows_labels_missing_from_y(blobs):
    X, y = blobs
    clf = WrongEventClassifier(classes=[0, 1, 2, 3], random_state=0, **FAST).fit(X, y)
    assert clf.predict_proba(X).shape == (60, 4)
    with pytest.raises(ValueError, match=r"labels \[5\] that are not in classes"):
        WrongEventClassifier(classes=[0, 1, 2], **FAST).fit(X, np.where(y == 2, 5, y))


def test_named_classes_with_integer_labels_read_them_as_positions(blobs):
    X, y = blobs  # skorch's convention: y holds indices, classes their names
    clf = WrongEventClassifier(classes=["c0", "c1", "c2"], random_state=0, **FAST).fit(X, y)
    assert clf.classes_.tolist() == ["c0", "c1", "c2"]
    assert clf.score(X, np.array(["c0", "c1", "c2"])[y]) > 0.9
    with pytest.raises(ValueError, match="not in classes"):
        WrongEventClassifier(classes=["c0", "c1"], **FAST).fit(X, y)  # 2 is no position


def test_pickle_round_trip(blobs):
    X, y = blobs
    clf = WrongEventClassifier(random_state=0, **FAST).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(restored.sample_cleanliness_, clf.sample_cleanliness_)
    assert restored.get_params()["device"] == "auto" and restored.device == "cpu"


@pytest.mark.filterwarnings("ignore::skwrongevent.WrongEventWarning")  # short fits, many
def test_pipeline_grid_search_and_cross_val_score(blobs):
    X, y = blobs
    pipe = make_pipeline(StandardScaler(), WrongEventClassifier(random_state=0, **FAST))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.9
    grid = GridSearchCV(
        pipe,
        {
            "wrongeventclassifier__warmup_fraction": [0.5, 1.0],
            "wrongeventclassifier__module__hidden_units": [(8,), (32,)],
        },
        cv=2,
    ).fit(X, y)
    assert grid.best_estimator_[-1].module_.layers[0].out_features in (8, 32)
    assert grid.score(X, y) > 0.9


def test_user_module_is_not_mutated(blobs, make_module):
    X, y = blobs
    module = make_module(4, 3)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    clf = WrongEventClassifier(module, random_state=0, **FAST).fit(X, y)
    for name, tensor in module.state_dict().items():
        assert torch.equal(tensor, before[name])
    assert clf.module_ is not module


def test_inputs_are_not_mutated(blobs):
    X, y = blobs
    X64, y_list = X.astype(np.float64), list(y)
    X_copy = X64.copy()
    WrongEventClassifier(random_state=0, **FAST).fit(X64, y_list)
    np.testing.assert_array_equal(X64, X_copy)
    assert y_list == list(y)


def test_skorch_validation_through_predefined_split(blobs):
    X, y = blobs
    clf = WrongEventClassifier(
        train_split=predefined_split(Dataset(X, y)), random_state=0, **FAST
    ).fit(X, y)
    assert "valid_loss" in clf.history[-1]
    assert clf.wrong_events_.shape == (60,)


def test_partial_fit_continues_from_the_current_weights(blobs):
    X, y = blobs
    labels = np.array(["a", "b", "c"])[y]
    clf = NetClassifier(max_epochs=2, random_state=0)
    clf.partial_fit(X[:30], labels[:30], classes=["a", "b", "c"])
    assert clf.classes_.tolist() == ["a", "b", "c"] and len(clf.history) == 2
    weights = copy.deepcopy(clf.module_.state_dict())
    clf.partial_fit(X[30:], labels[30:])
    assert len(clf.history) == 4  # the history and weights carry on, as in skorch
    assert not torch.equal(weights["layers.0.weight"], clf.module_.state_dict()["layers.0.weight"])
    before = copy.deepcopy(clf.__dict__)
    with pytest.raises(ValueError, match="not in classes"):
        clf.partial_fit(X, np.where(y == 0, "d", labels))
    with pytest.raises(ValueError, match="4 features"):
        clf.partial_fit(X[:, :3], labels)
    assert len(clf.history) == 4 and clf.__dict__.keys() == before.keys()


def test_partial_fit_judges_the_rows_it_is_given(blobs):
    X, y = blobs
    clf = WrongEventClassifier(random_state=0, **FAST).fit(X, y)
    with pytest.warns(WrongEventWarning, match="Every training row has 0 wrong events"):
        clf.partial_fit(X[:45], y[:45])  # rows it has learned: no wrong events left
    assert len(clf.history) == 2 * FAST["max_epochs"]
    assert clf.noise_mask_.shape == clf.sample_cleanliness_.shape == (45,)
    with pytest.warns(WrongEventWarning) as caught:
        clf.partial_fit(X[y == 2], y[y == 2])  # a chunk of one known class
    # One class: any network agrees with its labels as often as chance, so nothing is judged.
    assert any("no more often than chance" in str(w.message) for w in caught)
    assert clf.classes_.tolist() == [0, 1, 2] and clf.noise_mask_.shape == (20,)


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X), y), "NaN"),
        (
            lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 5, np.inf, X), y),
            "infinity",
        ),
        (lambda X, y: (X[:-1], y), "inconsistent numbers of samples"),
        (lambda X, y: (X, np.zeros_like(y)), "one class only"),
        (lambda X, y: (X, y + 0.5), "continuous"),
        (lambda X, y: (X, None), "requires y to be passed"),
        (lambda X, y: (X, np.where(np.arange(len(y)) == 3, None, y.astype(object))), "missing"),
        (lambda X, y: (X, np.where(np.arange(len(y)) == 3, "1", y.astype(object))), "mixes"),
        (lambda X, y: (X[:, :, None], y), "module=None builds an MLP for rows of features"),
        (lambda X, y: ([X[:, :2], X[:, 2:]], y), "Pass several inputs as a dict of arrays"),
    ],
)
def test_bad_training_input(blobs, change, message):
    X, y = change(*blobs)
    with pytest.raises(ValueError, match=message):
        WrongEventClassifier(**FAST).fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_says_so(blobs):
    with pytest.raises(ValueError, match="sees no CUDA device.*device='auto'"):
        WrongEventClassifier(device="cuda", max_epochs=1).fit(*blobs)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"warmup_fraction": 0}, "warmup_fraction"),
        ({"warmup_fraction": 1.5}, "warmup_fraction"),
        ({"max_epochs": -1}, "max_epochs"),
        ({"mixture": "local"}, "mixture"),
        ({"views": "images"}, "views"),
        ({"views": (len,)}, "views"),
        ({"module__hiden_units": (8,)}, "hiden_units"),
    ],
)
def test_bad_parameters(blobs, params, message):
    with pytest.raises((ValueError, TypeError), match=message):
        WrongEventClassifier(**{**FAST, **params}).fit(*blobs)


def test_rows_held_out_for_validation_are_not_judged(noisy_digits):
    X, y_noisy, noise_mask = noisy_digits[:3]
    clf = WrongEventClassifier(
        train_split=ValidSplit(0.2, random_state=1),
        callbacks=[EarlyStopping(monitor="valid_acc", lower_is_better=False, patience=100)],
        max_epochs=12,
        lr=1e-2,
        random_state=0,
    )
    with pytest.warns(WrongEventWarning, match="held out 252 of 1257 rows for validation"):
        clf.fit(X, y_noisy)
    assert clf.history[-1, "valid_acc"] > 0.45  # against labels 40% wrong
    held_out = np.isnan(clf.sample_cleanliness_)
    assert held_out.sum() == 252
    for values in (clf.sample_difficulty_, clf.sample_margin_):
        np.testing.assert_array_equal(np.isnan(values), held_out)
    assert not clf.noise_mask_[held_out].any() and not clf.wrong_events_[held_out].any()
    # The trained rows are judged as without a split; the verdict never saw the others.
    judged = ~held_out
    assert roc_auc_score(noise_mask[judged], -clf.sample_cleanliness_[judged]) > 0.9
    assert abs(clf.noise_mask_[judged].mean() - noise_mask[judged].mean()) < 0.1
    np.testing.assert_array_equal(clf.predicted_labels_, clf.predict(X))
    np.testing.assert_allclose(clf.get_noise_matrix().sum(axis=1), 1)
    issues = clf.get_label_issues()
    assert issues["label_quality"].isna().sum() == 252


def test_a_probability_module_with_nll_loss_is_read_as_skorch_reads_it(blobs, make_module):
    # skorch's convention: with NLLLoss the module returns probabilities, whose logarithms are
    # the logits. Read as logits themselves, every margin would stay below 0.36 (3 classes).
    X, y = blobs
    module = torch.nn.Sequential(make_module(4, 3), torch.nn.Softmax(dim=1))
    clf = WrongEventClassifier(
        module, criterion=torch.nn.NLLLoss, max_epochs=30, lr=1e-2, strength=1.0, random_state=0
    ).fit(X, y)
    assert clf.robust_epochs_ > 0  # both stages read the probabilities
    assert clf.sample_margin_.max() > 0.5
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1, rtol=1e-5)
    assert clf.score(X, y) == 1


def test_module_with_wrong_output_width(blobs, make_module):
    with pytest.raises(ValueError, match=r"shape \(16, 5\), but there are 3 classes"):
        WrongEventClassifier(make_module(4, 5), **FAST).fit(*blobs)


def test_predict_checks(blobs):
    X, y = blobs
    with pytest.raises(NotFittedError):
        WrongEventClassifier().predict(X)
    clf = WrongEventClassifier(random_state=0, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="3 features, but WrongEventClassifier is expecting 4"):
        clf.predict(X[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(np.full_like(X, np.nan))


# ---------------------------------------------------------------------------
# Degenerate and implausible fits
# ---------------------------------------------------------------------------


class NaNModule(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 3)

    def forward(self, X):
        return self.linear(X) * float("nan")


def test_a_non_finite_loss_raises_and_leaves_the_fitted_estimator_as_it_was(blobs):
    X, y = blobs
    clf = WrongEventClassifier(random_state=0, **FAST).fit(X, y)
    proba, cleanliness, classes = clf.predict_proba(X), clf.sample_cleanliness_, clf.classes_
    with pytest.raises(FloatingPointError, match="training diverged"):
        clf.set_params(lr=1e12).fit(X, np.array(["a", "b", "c"])[y])
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    assert clf.sample_cleanliness_ is cleanliness and clf.classes_ is classes


def test_log_probabilities_with_nll_loss_get_an_error_that_names_the_criterion(blobs, make_module):
    X, y = blobs
    module = torch.nn.Sequential(make_module(4, 3), torch.nn.LogSoftmax(dim=1))
    with pytest.raises(FloatingPointError, match="needs criterion=torch.nn.CrossEntropyLoss"):
        WrongEventClassifier(module, criterion=torch.nn.NLLLoss, **FAST).fit(X, y)


def test_a_failed_first_fit_leaves_an_unfitted_estimator(blobs):
    X, y = blobs
    clf = WrongEventClassifier(NaNModule, **FAST)
    with pytest.raises(FloatingPointError):
        clf.fit(X, y)
    assert not hasattr(clf, "wrong_events_") and not hasattr(clf, "classes_")
    with pytest.raises(NotFittedError):
        clf.predict(X)


@pytest.mark.parametrize("classes", [[1, 0, 2], [2, 0, 1]])
def test_classes_in_any_order(blobs, classes):
    X, y = blobs
    clf = WrongEventClassifier(classes=classes, random_state=0, **FAST).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, classes)
    assert clf.score(X, y) > 0.9  # labels were not merged or permuted
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.predict(X), np.asarray(classes)[proba.argmax(axis=1)])
    np.testing.assert_array_equal(clf.given_labels_, y)


def test_duplicate_classes_are_rejected(blobs):
    with pytest.raises(ValueError, match="duplicates"):
        WrongEventClassifier(classes=[0, 1, 1, 2], **FAST).fit(*blobs)


def test_short_warm_up_warns(blobs):
    with pytest.warns(WrongEventWarning, match="warm-up had 2 epoch"):
        StopAtFirstEpoch(max_epochs=4, random_state=0).fit(*blobs)


def clean_digit_labels():
    """The true labels of the noisy_digits training rows."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)[2]


def test_one_wrong_label_in_clean_digits_flags_almost_nothing(noisy_digits):
    X_train = noisy_digits[0]
    y = clean_digit_labels()
    y[0] = (y[0] + 1) % 10
    clf = WrongEventClassifier(max_epochs=20, random_state=0).fit(X_train, y)
    assert clf.noise_mask_.mean() < 0.05
    assert clf.sample_cleanliness_[clf.wrong_events_ == 0].min() > 0.5
    # The final verdict is the verdict a fresh mixture gives on the final counts.
    fresh = BetaMixture().fit(clf.wrong_events_).predict_proba(clf.wrong_events_)[:, 0] < 0.5
    assert clf.noise_mask_.sum() <= max(2 * fresh.sum(), 1)


def test_per_class_mixture_on_clean_digits_never_flags_a_whole_class(noisy_digits):
    X_train, y_clean = noisy_digits[0], clean_digit_labels()
    for seed in range(2):
        clf = WrongEventClassifier(mixture="per_class", max_epochs=20, random_state=seed)
        clf.fit(X_train, y_clean)
        shares = [clf.noise_mask_[y_clean == c].mean() for c in range(10)]
        assert max(shares) <= 0.5


def test_a_class_never_learned_in_the_warm_up_is_withheld_not_flagged():
    # 2% of the rows form a class that a 3-epoch warm-up never predicts.
    X, y = make_classification(1000, 10, n_informative=5, weights=[0.98], random_state=0)
    with pytest.warns(WrongEventWarning) as caught:
        clf = WrongEventClassifier(max_epochs=6, warmup_fraction=0.5, lr=1e-3, random_state=0).fit(
            X.astype(np.float32), y
        )
    assert any("most rows of classes [1]" in str(w.message) for w in caught)
    assert clf.withheld_classes_.tolist() == [1]
    assert not clf.noise_mask_[y == 1].any()
    # Withheld from the mask, not from the evidence: the scores are the counts' reading.
    np.testing.assert_allclose(
        clf.sample_cleanliness_, clf.mixture_.predict_proba(clf.wrong_events_)[:, 0], rtol=1e-9
    )


def test_rare_class_of_clean_imbalanced_data_is_not_flagged_away():
    X, y = make_classification(3000, 10, n_informative=5, weights=[0.99], random_state=0)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    clf = WrongEventClassifier(random_state=0).fit(X, y)
    assert clf.noise_mask_[y == 1].mean() <= 0.5
    assert clf.noise_mask_.mean() < 0.02


def test_unscaled_features_train_like_scaled_ones():
    X, y = load_wine(return_X_y=True)  # features from 0.1 to 1700
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    raw = WrongEventClassifier(random_state=0).fit(X_train, y_train)
    assert raw.score(X_test, y_test) > 0.9 and raw.noise_mask_.mean() < 0.1


class StopAtFirstEpoch(WrongEventClassifier):
    """Always starts robust training, in full, after the least warm-up."""

    def __init__(self, module=None, *, strength=1.0, **kwargs):
        super().__init__(module, strength=strength, **kwargs)

    def select_base_epoch(self, prediction_changes, first_epoch=1):
        return 1


def test_views_are_fitted_on_a_bounded_sample():
    X = np.random.default_rng(0).normal(size=(3000, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    seen = []

    class Recorder(TabularViews):
        def fit(self, X, y=None):
            seen.append(len(X))
            return super().fit(X, y)

    with pytest.warns(WrongEventWarning, match="warm-up had 2 epoch"):
        StopAtFirstEpoch(views=Recorder(), max_epochs=4, warmup_fraction=0.5).fit(X, y)
    assert seen == [2048]


class NeverSettles(WrongEventClassifier):
    """Reads every prediction-change curve as still falling."""

    def select_base_epoch(self, prediction_changes, first_epoch=1):
        return len(prediction_changes) + 1


def test_warmup_goes_on_while_the_network_is_still_learning(blobs):
    X, y = blobs
    with pytest.warns(WrongEventWarning, match="warm-up had 2 epoch"):
        settles = StopAtFirstEpoch(max_epochs=8, random_state=0).fit(X, y)
    assert (settles.warmup_epochs_, settles.robust_epochs_) == (2, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        learned = NeverSettles(max_epochs=8, random_state=0).fit(X, y)  # no row changes at last
    assert learned.prediction_changes_[-1] == 0
    X, y = make_classification(200, 8, flip_y=0.3, class_sep=0.5, random_state=0)
    with pytest.warns(WrongEventWarning, match="still learning after all 8 epochs"):
        learning = NeverSettles(max_epochs=8, random_state=0).fit(X, y)
    assert (learning.warmup_epochs_, learning.robust_epochs_, learning.base_epoch_) == (8, 0, 8)
    assert learning.views_ is None
    assert learning.history_[:, "stage"] == [1] * 8


class GuessesFirst(torch.nn.Module):
    """An MLP whose logits are a fresh random guess, independent of the rows, until ``guessing``
    is switched off."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)
        )
        self.guessing, self.calls = True, 0

    def forward(self, X):
        logits = self.net(X)
        if not self.guessing:
            return logits
        self.calls += 1
        guess = torch.randn(logits.shape, generator=torch.Generator().manual_seed(self.calls))
        return logits * 0 + 10 * guess


class GuessFor(Callback):
    def __init__(self, epochs):
        self.epochs = epochs

    def on_epoch_begin(self, net, **kwargs):
        net.module_.guessing = len(net.history) <= self.epochs


def test_the_base_model_is_chosen_from_epochs_whose_predictions_beat_chance(blobs):
    # While it guesses, the network's predictions churn as much as chance makes them, up and
    # down: a local minimum of that churn is no sign of having learned, so the curve is read
    # from the first epoch whose predictions agree with the labels beyond chance.
    X, y = blobs
    clf = WrongEventClassifier(
        GuessesFirst, max_epochs=30, lr=1e-2, batch_size=16, callbacks=[GuessFor(6)], random_state=0
    ).fit(X, y)
    guessing_changes = clf.prediction_changes_[:5]
    assert np.any(np.diff(guessing_changes) >= 0)  # the churn has local minima
    assert clf.base_epoch_ > 6
    assert clf.score(X, y) == 1.0
    with pytest.warns(WrongEventWarning, match="no more often than chance"):
        guesser = WrongEventClassifier(
            GuessesFirst, max_epochs=8, callbacks=[GuessFor(8)], random_state=0
        ).fit(X, y)
    assert (guesser.warmup_epochs_, guesser.robust_epochs_) == (8, 0)
    assert guesser.wrong_events_.max() > 0 and not guesser.noise_mask_.any()


def test_both_views_see_the_same_dropout_masks(blobs):
    X, y = blobs
    same = []

    class Recorder(StopAtFirstEpoch):
        def get_robust_loss(self, logits_weak, logits_strong, *args, **kwargs):
            same.append(torch.equal(logits_weak, logits_strong))
            return super().get_robust_loss(logits_weak, logits_strong, *args, **kwargs)

    with torch.random.fork_rng():
        torch.manual_seed(0)
        module = torch.nn.Sequential(
            torch.nn.Linear(X.shape[1], 32), torch.nn.Dropout(0.5), torch.nn.Linear(32, 3)
        )
    unchanged = (lambda batch: batch, lambda batch: batch)  # two passes, one per view
    with pytest.warns(WrongEventWarning, match="warm-up had 2 epoch"):
        Recorder(module, views=unchanged, max_epochs=4, lr=0.05, random_state=0).fit(X, y)
    assert same and all(same)


def test_without_views_each_robust_batch_goes_through_the_network_once(blobs):
    X, y = blobs
    calls = []

    class Counting(torch.nn.Linear):
        def forward(self, X):
            calls.append(len(X))
            return super().forward(X)

    with torch.random.fork_rng():  # the same initial weights whatever ran before
        torch.manual_seed(0)
        module = Counting(4, 3)
    clf = StopAtFirstEpoch(module, views=None, max_epochs=4, batch_size=20, lr=0.05)
    with pytest.warns(WrongEventWarning) as caught:
        clf.fit(X, y)
    assert any("warm-up had 2 epoch" in str(w.message) for w in caught)
    # One pass per row and epoch, and two to predict every row at the end: the robust network
    # and the base model it is compared with.
    assert clf.robust_epochs_ == 2 and sum(calls) == 6 * len(X)


def test_verdict_warnings_point_at_the_callers_fit(blobs):
    with pytest.warns(WrongEventWarning, match="warm-up had 2 epoch") as caught:
        StopAtFirstEpoch(max_epochs=4, random_state=0).fit(*blobs)
    assert caught[0].filename == __file__


def test_the_criterions_class_weights_carry_into_the_robust_loss(blobs):
    X, y = blobs
    seen = []

    class Spy(WrongEventClassifier):
        def get_robust_loss(self, *args, sample_weight=None):
            seen.append((args[2].clone(), sample_weight))
            return super().get_robust_loss(*args, sample_weight=sample_weight)

    Spy(criterion__weight=torch.tensor([1.0, 1.0, 3.0]), **FAST).fit(X, y)
    assert seen
    for codes, weight in seen:
        np.testing.assert_allclose(float(weight.mean()), 1, rtol=1e-5)
        if (codes == 2).any() and (codes == 0).any():
            ratio = weight[codes == 2].mean() / weight[codes == 0].mean()
            np.testing.assert_allclose(float(ratio), 3, rtol=1e-5)


class ZeroWeightsAfterLastEpoch(Callback):
    """Breaks the network after its last epoch: all-zero logits predict the first class."""

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == net.max_epochs:
            with torch.no_grad():
                for parameter in net.module_.parameters():
                    parameter.zero_()


def test_a_robust_network_worse_than_its_base_model_on_the_trusted_rows_gives_way_to_it(blobs):
    X, y = blobs
    params = dict(max_epochs=12, lr=1e-2, batch_size=16, strength=1.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        kept = WrongEventClassifier(**params).fit(X, y)
    with pytest.warns(WrongEventWarning, match=r"so the base model \(epoch \d+\) is kept"):
        restored = WrongEventClassifier(callbacks=[ZeroWeightsAfterLastEpoch()], **params).fit(X, y)
    assert restored.robust_epochs_ == kept.robust_epochs_ > 0
    assert restored.score(X, y) == 1.0  # a constant predictor would score 1/3
    np.testing.assert_array_equal(restored.predicted_labels_, restored.predict(X))
    assert restored.noise_mask_.mean() < 0.2  # rows the warm-up learned late
    # On a clean 95/5 table, where a robust stage (a fresh AdamW at the full lr) once threw the
    # base model off its minimum, the evidence is too weak to act on: plain training goes on.
    X, y = make_classification(2000, 10, n_informative=4, weights=[0.95], random_state=90)
    X, X_test, y, y_test = train_test_split(X, y, test_size=0.3, random_state=90, stratify=y)
    X, X_test = X.astype(np.float32), X_test.astype(np.float32)
    params = dict(mixture="per_class", lr=3e-3, max_epochs=20, batch_size=128, random_state=90)
    measured = WrongEventClassifier(**params).fit(X, y)
    assert measured.evidence_strength_ < 0.5 and measured.robust_epochs_ == 0
    assert balanced_accuracy_score(y_test, measured.predict(X_test)) > 0.85
    assert measured.noise_mask_.mean() < 0.02


class FailAtEpoch(Callback):
    """Raises at the end of the given epoch of the call it is in."""

    def __init__(self, epoch=2):
        self.epoch = epoch

    def on_train_begin(self, net, **kwargs):
        self.epochs_ = 0

    def on_epoch_end(self, net, **kwargs):
        self.epochs_ += 1
        if self.epochs_ == self.epoch:
            raise RuntimeError("callback failed")


@pytest.mark.parametrize("estimator", [NetClassifier, WrongEventClassifier])
@pytest.mark.parametrize("path", ["partial_fit", "warm_start", "refit"])
def test_a_fit_that_raises_leaves_weights_optimizer_history_and_verdict_as_they_were(
    blobs, estimator, path
):
    X, y = blobs
    failing = FailAtEpoch(epoch=10**6)
    params = FAST if estimator is WrongEventClassifier else dict(max_epochs=10, lr=1e-2)
    clf = estimator(
        random_state=0, callbacks=[("fail", failing)], warm_start=path == "warm_start", **params
    ).fit(X, y)
    proba = clf.predict_proba(X)
    history = copy.deepcopy(list(clf.history))
    optimizer = copy.deepcopy(clf.optimizer_.state_dict()["state"])
    attributes = {k: copy.deepcopy(v) for k, v in vars(clf).items() if k.endswith("_")}
    failing.epoch = clf.callbacks_[0][1].epoch = 3  # fails three epochs into the next call
    with pytest.raises(RuntimeError, match="callback failed"):
        if path == "partial_fit":
            clf.partial_fit(X, y)
        else:
            clf.fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    assert list(clf.history) == history  # the same entries, in the same History object
    for key, state in clf.optimizer_.state_dict()["state"].items():
        for name, value in state.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(optimizer[key][name]))
    for name in ("sample_cleanliness_", "noise_mask_", "label_quality_", "wrong_events_"):
        if name in attributes:
            np.testing.assert_array_equal(getattr(clf, name), attributes[name])


class InterruptAtEpoch(Callback):
    """Stops training as Ctrl-C or skorch's EarlyStopping do."""

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 3:
            raise KeyboardInterrupt


def test_training_stopped_in_the_warm_up_warns_that_the_verdict_is_the_warm_ups(blobs):
    X, y = blobs
    with pytest.warns(WrongEventWarning, match="stopped after 3 of 20 epochs"):
        clf = WrongEventClassifier(random_state=0, callbacks=[InterruptAtEpoch()], **FAST).fit(X, y)
    assert len(clf.history) == clf.warmup_epochs_ == 3 and clf.robust_epochs_ == 0
    assert np.isfinite(clf.sample_cleanliness_).all()  # judged from those epochs


def test_a_class_with_weight_zero_is_named_as_such():
    X, y = make_classification(400, 8, n_informative=5, n_classes=3, random_state=0)
    weights = np.where(y == 2, 0.0, 1.0)
    with pytest.warns(WrongEventWarning, match=r"every row of classes \[2\] weight 0") as caught:
        WrongEventClassifier(max_epochs=10, lr=1e-2, random_state=0).fit(
            X.astype(np.float32), y, sample_weight=weights
        )
    assert not any("not learned" in str(w.message) for w in caught)


class InterruptAfterTraining(Callback):
    """Ctrl-C after the epochs, while the fit is being finished, once ``armed``."""

    armed = False

    def on_train_end(self, net, **kwargs):
        if self.armed:
            raise KeyboardInterrupt


@pytest.mark.filterwarnings("ignore::skwrongevent.WrongEventWarning")  # a refit on learned rows
@pytest.mark.parametrize("estimator", [NetClassifier, WrongEventClassifier])
def test_an_interrupt_outside_the_epochs_leaves_the_fitted_estimator_as_it_was(blobs, estimator):
    X, y = blobs
    params = FAST if estimator is WrongEventClassifier else dict(max_epochs=10, lr=1e-2)
    stop = InterruptAfterTraining()
    clf = estimator(random_state=0, warm_start=True, callbacks=[stop], **params).fit(X, y)
    proba, history = clf.predict_proba(X), copy.deepcopy(list(clf.history))
    stop.armed = True
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    assert list(clf.history) == history
