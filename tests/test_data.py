"""Input forms: image arrays, tensors, torch datasets, SliceDataset and dicts."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_score
from skorch.callbacks import Callback
from skorch.helper import SliceDataset
from torch.utils.data import BatchSampler, RandomSampler

from skwrongevent import ImageViews, WrongEventClassifier, WrongEventWarning, inject_label_noise
from skwrongevent._data import ShuffledBatches

FAST = dict(
    max_epochs=10, warmup_fraction=0.5, lr=1e-2, batch_size=32, mixture="global", strength=1.0
)


class SmallCNN(torch.nn.Module):
    """Two convolutions, a max-pool and a linear layer for 1 x 8 x 8 images."""

    def __init__(self, n_classes=10):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(16, 16, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Flatten(),
        )
        self.head = torch.nn.Linear(16 * 4 * 4, n_classes)

    def forward(self, x):
        return self.head(self.features(x))


@pytest.fixture(scope="module")
def digit_images():
    """600 digits as (N, 1, 8, 8) images in [0, 1], with 30% of the labels wrong."""
    X, y = load_digits(return_X_y=True)
    X = (X[:600] / 16).reshape(-1, 1, 8, 8).astype(np.float32)
    y_noisy, is_wrong = inject_label_noise(y[:600], 0.3, random_state=0)
    return X, y_noisy, is_wrong, y[:600]


def cnn(module=SmallCNN, **params):
    settings = dict(FAST, random_state=0)
    settings.update(params)
    return WrongEventClassifier(module, **settings)


class StopAtFirstEpoch(WrongEventClassifier):
    """Always starts robust training, in full, after the least warm-up."""

    def __init__(self, module=None, *, strength=1.0, **kwargs):
        super().__init__(module, strength=strength, **kwargs)

    def select_base_epoch(self, prediction_changes, first_epoch=1):
        return 1


class PairDataset(torch.utils.data.Dataset):
    """(image, label) pairs, with no ``targets`` attribute."""

    def __init__(self, X, y):
        self.X, self.y_values = X, y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        return torch.from_numpy(self.X[index]), int(self.y_values[index])


@pytest.fixture(scope="module")
def fitted_cnn(digit_images):
    X, y_noisy, _, _ = digit_images
    return cnn(max_epochs=20, warmup_fraction=0.5).fit(X, y_noisy)


def test_cnn_on_noisy_digit_images_finds_the_wrong_labels(fitted_cnn, digit_images):
    X, _, is_wrong, y_true = digit_images
    assert fitted_cnn.input_shape_ == (1, 8, 8)
    assert fitted_cnn.views_ is None  # 8 x 8 images are too small for image views
    assert roc_auc_score(is_wrong, 1 - fitted_cnn.sample_cleanliness_) > 0.9
    assert (fitted_cnn.noise_mask_ == is_wrong).mean() > 0.8
    # Closer to the true labels than the given labels are (70% right).
    assert (fitted_cnn.predict(X) == y_true).mean() > 0.75


class BrighterHalf(torch.nn.Module):
    """Predicts which half of an image is brighter: right from the start, so every count is 0."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(10.0))

    def forward(self, x):
        left, right = x.chunk(2, dim=-1)
        return self.scale * torch.stack([left.mean(dim=(1, 2, 3)), right.mean(dim=(1, 2, 3))], 1)


def half_bright_images(side, n_rows=200):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n_rows)
    X = rng.uniform(0, 0.5, size=(n_rows, 1, side, side)).astype(np.float32)
    X[y == 0, ..., : side // 2] += 0.5
    X[y == 1, ..., side // 2 :] += 0.5
    return X, y


def test_auto_views_pick_image_views_where_the_warmup_finds_wrong_labels():
    settings = dict(FAST, max_epochs=6, random_state=0)
    X, y = half_bright_images(16)
    y_noisy, _ = inject_label_noise(y, 0.2, random_state=0)
    noisy = StopAtFirstEpoch(BrighterHalf, **settings).fit(X, y_noisy)
    assert isinstance(noisy.views_, ImageViews)
    assert not noisy.views_.flip  # a mirrored digit is no digit
    with pytest.warns(WrongEventWarning, match="no evidence of label noise"):
        clean = StopAtFirstEpoch(BrighterHalf, **settings).fit(X, y)  # every count is 0
    assert clean.robust_epochs_ == 3 and clean.views_ is None
    X, y = half_bright_images(8)
    y_noisy, _ = inject_label_noise(y, 0.2, random_state=0)
    small = StopAtFirstEpoch(BrighterHalf, **settings).fit(X, y_noisy)
    assert small.robust_epochs_ == 3 and small.views_ is None  # 8 x 8: too small to resample


def test_dataset_tensor_and_array_inputs_give_the_same_fit(digit_images):
    X, y_noisy, _, _ = digit_images
    X, y_noisy = X[:200], y_noisy[:200]
    from_array = cnn().fit(X, y_noisy)
    from_tensor = cnn().fit(torch.from_numpy(X), torch.from_numpy(y_noisy))
    from_dataset = cnn().fit(PairDataset(X, y_noisy))  # labels read from the items
    tensors = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y_noisy))
    from_slices = cnn().fit(SliceDataset(tensors), y_noisy)
    for other in (from_tensor, from_dataset, from_slices):
        np.testing.assert_array_equal(other.wrong_events_, from_array.wrong_events_)
        np.testing.assert_allclose(other.predict_proba(X), from_array.predict_proba(X), atol=1e-6)
    assert len(from_dataset.predict(PairDataset(X, y_noisy))) == 200
    assert len(from_slices.predict(SliceDataset(tensors))) == 200
    assert not hasattr(from_dataset, "n_features_in_")


@pytest.mark.filterwarnings("ignore::skwrongevent.WrongEventWarning")  # input paths, not verdicts
def test_dataset_labels_from_targets_attribute_and_y_overrides(digit_images):
    X, y_noisy, _, _ = digit_images
    dataset = PairDataset(X[:100], np.zeros(100))  # labels in the items are all zero
    dataset.targets = np.where(y_noisy[:100] % 2, "odd", "even")
    clf = cnn(max_epochs=2, module__n_classes=2).fit(dataset)
    assert clf.classes_.tolist() == ["even", "odd"]
    clf = cnn(max_epochs=2).fit(dataset, y_noisy[:100])  # y wins over the dataset's labels
    assert clf.classes_.tolist() == sorted(set(y_noisy[:100]))


def test_slice_dataset_in_cross_val_score(digit_images):
    X, y_noisy, _, y_true = digit_images
    tensors = torch.utils.data.TensorDataset(torch.from_numpy(X))
    scores = cross_val_score(cnn(max_epochs=30), SliceDataset(tensors), y_true, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.6  # chance is 0.1


def test_dict_input_reaches_forward_as_keyword_arguments(blobs, make_module):
    X, y = blobs

    class Gated(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.network = make_module()

        def forward(self, features, gate):
            return self.network(features * gate[:, None])

    class Plain(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.network = make_module()

        def forward(self, features):
            return self.network(features)

    data = {"features": X, "gate": np.ones(len(X), dtype=np.float64)}
    settings = dict(FAST, random_state=0)
    clf = WrongEventClassifier(Gated, **settings).fit(data, y)  # views="auto": the rows
    assert clf.views_ is None
    reference = WrongEventClassifier(Plain, views=None, **settings).fit(X, y)
    np.testing.assert_array_equal(clf.wrong_events_, reference.wrong_events_)
    np.testing.assert_allclose(clf.predict_proba(data), reference.predict_proba(X), atol=1e-6)
    assert clf.input_shape_ is None
    assert data["gate"].dtype == np.float64  # the caller's dict is not changed
    with pytest.raises(ValueError, match="different numbers of rows"):
        clf.predict({"features": X, "gate": np.ones(3)})


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X), y), "NaN"),
        (lambda X, y: (X, y[:-1]), "inconsistent numbers of samples"),
        (lambda X, y: (PairDataset(X, y), y[:-1]), "has 64 rows but y has 63"),
        (lambda X, y: (SliceDataset(PairDataset(X, y)), None), "SliceDataset yields the inputs"),
        (lambda X, y: (X[:, 0], y), "module=None builds an MLP"),
    ],
)
def test_bad_image_input(digit_images, change, message):
    X, y, _, _ = digit_images
    X, y = change(X[:64], y[:64])
    clf = cnn(max_epochs=1)
    if "module" in message:
        clf.set_params(module=None)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)


def test_prediction_checks_image_shape(fitted_cnn, digit_images):
    X = digit_images[0]
    with pytest.raises(ValueError, match="fitted on rows of shape"):
        fitted_cnn.predict(X[:, 0])
    with pytest.raises(ValueError, match="features"):
        fitted_cnn.predict(np.repeat(X, 2, axis=1))  # two channels instead of one


def test_wrong_output_width_names_the_class_count(digit_images):
    X, y_noisy, _, _ = digit_images
    with pytest.raises(ValueError, match=r"10 classes: it must return logits of shape"):
        cnn(module__n_classes=7, max_epochs=1).fit(X[:64], y_noisy[:64])


def test_history_holds_plain_float_losses(fitted_cnn):
    batch = fitted_cnn.history[-1, "batches", 0]
    assert isinstance(batch["train_loss"], float) and batch["train_batch_size"] == 32
    assert isinstance(fitted_cnn.history[-1, "train_loss"], float)
    assert fitted_cnn.history[-1, "train_batch_count"] == 19  # 600 rows in batches of 32


def test_pin_memory_on_cuda_unless_the_user_says_otherwise():
    assert "pin_memory" not in WrongEventClassifier(device="cpu").get_params_for("iterator_train")
    on_gpu = WrongEventClassifier(device="cuda")
    assert on_gpu.get_params_for("iterator_train")["pin_memory"] is True
    on_gpu.set_params(iterator_valid__pin_memory=False)
    assert on_gpu.get_params_for("iterator_valid")["pin_memory"] is False


@pytest.mark.filterwarnings("ignore::skwrongevent.WrongEventWarning")  # input paths, not verdicts
def test_mixed_precision_runs_and_returns_float32(digit_images):
    X, y_noisy, _, _ = digit_images
    clf = cnn(mixed_precision=True, max_epochs=2).fit(X[:64], y_noisy[:64])
    proba = clf.predict_proba(X[:10])
    assert proba.dtype == np.float32 and np.allclose(proba.sum(axis=1), 1, atol=1e-3)


@pytest.mark.cuda
@pytest.mark.parametrize("mixed_precision", [False, True])
def test_cnn_trains_on_the_gpu(digit_images, mixed_precision):
    X, y_noisy, is_wrong, _ = digit_images
    clf = cnn(device="auto", mixed_precision=mixed_precision, max_epochs=16, warmup_fraction=0.375)
    clf.fit(X, y_noisy)
    assert clf.device == "cuda" and next(clf.module_.parameters()).is_cuda
    assert roc_auc_score(is_wrong, 1 - clf.sample_cleanliness_) > 0.85
    assert clf.predict(torch.from_numpy(X).cuda()).shape == (600,)


def test_training_batches_are_shuffled_unless_the_user_says_otherwise(blobs):
    X, y = blobs  # sorted by class: unshuffled batches hold one class each

    class FirstBatch(Callback):
        def on_batch_begin(self, net, batch=None, training=False, **kwargs):
            if training and len(net.history) == 1 and not hasattr(self, "batch"):
                self.batch = batch

    for shuffle in (None, False):
        params = {} if shuffle is None else {"iterator_train__shuffle": shuffle}
        recorder = FirstBatch()
        WrongEventClassifier(callbacks=[recorder], **FAST, **params).fit(X, y)
        X_batch, y_batch = recorder.batch  # batches are (X, y), as in skorch
        in_order = torch.equal(X_batch, torch.from_numpy(X[: len(X_batch)]))
        assert in_order == (shuffle is False)
        rows = [np.flatnonzero((X == row).all(axis=1))[0] for row in X_batch.numpy()]
        np.testing.assert_array_equal(y_batch.numpy(), y[rows])  # the user's labels


@pytest.mark.parametrize(
    "n_rows, batch_size, drop_last", [(1000, 128, False), (7, 3, True), (5, 10, False)]
)
def test_shuffled_batches_are_torchs_random_batches(n_rows, batch_size, drop_last):
    # The training loader's shuffled batches, without a Python list of every row index.
    torch.manual_seed(3)
    expected = [
        list(BatchSampler(RandomSampler(range(n_rows)), batch_size, drop_last)) for _ in "ab"
    ]
    after_torch = torch.rand(1)
    torch.manual_seed(3)
    batches = ShuffledBatches(n_rows, batch_size, drop_last)
    assert [list(batches) for _ in "ab"] == expected
    assert torch.equal(torch.rand(1), after_torch)  # the same draws from torch's random state
    assert len(batches) == len(expected[0])


def test_text_and_categorical_columns_of_a_data_frame_are_named():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(
        {
            "size": np.arange(20.0),
            "colour": ["red", "blue"] * 10,
            "kind": pd.Categorical(["x", "y"] * 10),
            "count": pd.array(range(20), dtype="Int64"),
        }
    )
    y = np.tile([0, 1], 10)
    clf = WrongEventClassifier(max_epochs=1)
    with pytest.raises(ValueError, match=r"not numbers: \{'colour': .*'kind': 'category'\}"):
        clf.fit(X, y)
    with pytest.warns(WrongEventWarning):  # one epoch: the verdict warns that it cannot judge
        clf.fit(X[["size", "count"]], y)
    with pytest.raises(ValueError, match="ColumnTransformer"):
        clf.predict(X.drop(columns="kind"))
