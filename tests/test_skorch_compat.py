"""skorch workflows, run the way skorch users run them."""

import pickle
import warnings

import numpy as np
import pytest
import sklearn
import torch
from scipy import sparse
from sklearn.datasets import make_classification
from skorch.callbacks import (
    Callback,
    Checkpoint,
    EarlyStopping,
    EpochScoring,
    LRScheduler,
)
from skorch.dataset import Dataset, ValidSplit
from skorch.exceptions import NotInitializedError, SkorchTrainingImpossibleError

from skwrongevent import NetClassifier, WrongEventClassifier

# skorch's workflows on fits of a few epochs, where the verdict rightly warns that it cannot
# judge; test_classifier.py and test_verdict.py test the warnings themselves.
pytestmark = pytest.mark.filterwarnings("ignore::skwrongevent.WrongEventWarning")
FAST = dict(max_epochs=6, warmup_fraction=0.5, lr=1e-2, batch_size=32, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(200, 8, n_informative=5, random_state=0)
    return X.astype(np.float32), y


class Logits(torch.nn.Module):
    def __init__(self, n_features=8, n_classes=2):
        super().__init__()
        self.linear = torch.nn.Linear(n_features, n_classes)

    def forward(self, X):
        return self.linear(X)


def recording(seen):
    """A ``Logits`` module class whose forward appends the keyword arguments it gets to ``seen``."""

    class Recording(Logits):
        def forward(self, X, **kwargs):
            seen.append(kwargs)
            return super().forward(X)

    return Recording


@pytest.fixture(params=[NetClassifier, WrongEventClassifier])
def net_class(request):
    return request.param


def make(net_class, **params):
    settings = dict(FAST)
    if not issubclass(net_class, WrongEventClassifier):
        settings.pop("warmup_fraction")
    return net_class(**{**settings, **params})


def test_restore_after_initialize_and_load_params(net_class, data, tmp_path):
    X, y = data
    fitted = make(net_class, module=Logits).fit(X, y)
    fitted.save_params(f_params=tmp_path / "params.pt")
    for params in ({}, {"classes": [0, 1]}):
        new = make(net_class, module=Logits, **params).initialize()
        new.load_params(f_params=tmp_path / "params.pt")
        np.testing.assert_allclose(new.predict_proba(X), fitted.predict_proba(X), rtol=1e-6)
        np.testing.assert_array_equal(new.predict(X), fitted.predict(X))


def test_default_module_initializes_before_fit_when_sized(net_class, data, tmp_path):
    X, y = data
    fitted = make(net_class).fit(X, y)
    fitted.save_params(f_params=tmp_path / "params.pt")
    new = make(net_class, module__n_features=8, classes=[0, 1]).initialize()
    new.load_params(f_params=tmp_path / "params.pt")  # input scaling travels with the weights
    np.testing.assert_allclose(new.predict_proba(X), fitted.predict_proba(X), rtol=1e-6)
    with pytest.raises(ValueError, match="module=None builds an MLP"):
        make(net_class).initialize()


def test_unfitted_net_raises_skorchs_not_initialized_error(net_class, data):
    with pytest.raises(NotInitializedError):
        make(net_class, module=Logits).predict(data[0])


@pytest.mark.parametrize(
    "params",
    [
        {"module__hidden_units": (8,)},
        {"criterion__label_smoothing": 0.1},
        {"lr": 0.02},  # at 0.05 these 6-epoch fits of 200 rows diverge (README, limits)
        {"optimizer__weight_decay": 0.0},
    ],
)
def test_set_params_on_a_fitted_net(net_class, data, params):
    X, y = data
    net = make(net_class).fit(X, y)
    net.set_params(**params)
    assert net.get_params()["device"] == "auto"
    assert net.fit(X, y).score(X, y) > 0.7


def test_batches_are_x_and_y_for_callbacks_and_collate(net_class, data):
    X, y = data
    seen = []

    class Unpack(Callback):
        def on_batch_end(self, net, batch=None, training=False, **kwargs):
            Xb, yb = batch
            seen.append((training, len(Xb), len(yb)))

    def collate(items):
        Xb, yb = zip(*items, strict=True)
        return torch.as_tensor(np.stack(Xb)), torch.as_tensor(np.stack(yb))

    net = make(
        net_class,
        callbacks=[Unpack(), EpochScoring("accuracy", on_train=True, name="train_acc")],
        iterator_train__collate_fn=collate,
        train_split=lambda dataset, y=None, **kwargs: (dataset, dataset),
    ).fit(X, y)
    assert all(n_X == n_y for _, n_X, n_y in seen)
    assert {training for training, *_ in seen} == {True, False}
    assert 0.5 < net.history[-1, "train_acc"] <= 1


def test_lbfgs_counts_each_row_once_per_step(data):
    X, y = data
    net = WrongEventClassifier(
        Logits,
        optimizer=torch.optim.LBFGS,
        lr=0.1,
        max_epochs=6,
        warmup_fraction=0.5,
        batch_size=200,
        random_state=0,
    ).fit(X, y)
    assert net.wrong_events_.max() <= net.warmup_epochs_ + 2 * net.robust_epochs_


def test_early_stopping_ends_fit_with_a_usable_fitted_net(data):
    X, y = data
    net = WrongEventClassifier(
        max_epochs=30,
        lr=1e-2,
        random_state=0,
        callbacks=[EarlyStopping(monitor="train_loss", patience=1, threshold=10.0)],
    ).fit(X, y)
    assert len(net.history) < 30
    assert net.wrong_events_.shape == net.noise_mask_.shape == (200,)
    assert net.predict(X).shape == (200,)


def test_checkpoint_saves_and_restores(data, tmp_path):
    X, y = data
    net = WrongEventClassifier(
        Logits,
        callbacks=[Checkpoint(monitor=None, dirname=str(tmp_path))],
        **{**FAST, "max_epochs": 10},  # with a robust stage: the network is its last epoch's
    ).fit(X, y)
    assert net.robust_epochs_ > 0
    new = WrongEventClassifier(Logits, classes=[0, 1]).initialize()
    new.load_params(checkpoint=dict(net.callbacks_)["Checkpoint"])
    np.testing.assert_allclose(new.predict_proba(X), net.predict_proba(X), rtol=1e-6)


def test_dataset_parameter_is_used(net_class, data):
    X, y = data
    built = []

    class MyDataset(Dataset):
        def __init__(self, *args, foo, **kwargs):
            super().__init__(*args, **kwargs)
            built.append(foo)

    make(net_class, dataset=MyDataset, dataset__foo=7).fit(X, y)
    assert built == [7]


def test_datasets_with_three_values_are_rejected(net_class, data):
    X, y = data

    class Three(torch.utils.data.Dataset):
        def __len__(self):
            return len(y)

        def __getitem__(self, index):
            return X[index], y[index], 0

    with pytest.raises(ValueError, match="returns 3 values"):
        make(net_class).fit(Three(), y)
    with pytest.raises(ValueError, match="returns 3 values"):
        make(net_class).fit(Three(), None)


def test_sparse_input_trains_like_dense(net_class, data):
    X, y = data
    dense = make(net_class).fit(X, y)
    for container in (sparse.csr_matrix, sparse.csr_array):
        from_sparse = make(net_class).fit(container(X), y)
        np.testing.assert_allclose(
            from_sparse.predict_proba(container(X)), dense.predict_proba(X), rtol=1e-4, atol=1e-5
        )


def test_sparse_integer_counts_reach_a_module_as_float32(net_class, data):
    X, y = data
    counts = sparse.csr_matrix(np.rint(np.abs(X) * 3).astype(np.int64))  # a bag of words
    net = make(net_class, module=Logits).fit(counts, y)
    assert net.predict_proba(counts).shape == (len(y), 2)


def test_sample_weight_weights_each_row(net_class, data):
    X, y = data
    weights = np.where(y == 1, 5.0, 0.2)
    weighted = make(net_class).fit(X, y, sample_weight=weights)
    plain = make(net_class).fit(X, y)
    assert (weighted.predict(X) == 1).mean() > (plain.predict(X) == 1).mean()
    same = make(net_class).fit(X, y, sample_weight=np.full(len(y), 3.0))  # rescaled to mean 1
    np.testing.assert_allclose(same.predict_proba(X), plain.predict_proba(X), rtol=1e-4)
    with pytest.raises(ValueError, match="(?i)negative"):
        make(net_class).fit(X, y, sample_weight=-weights)


def test_class_weight_balanced_helps_the_rare_class(net_class):
    X, y = make_classification(400, 8, weights=[0.93, 0.07], random_state=0)
    X = X.astype(np.float32)
    plain = make(net_class, max_epochs=4).fit(X, y)
    balanced = make(net_class, max_epochs=4, class_weight="balanced").fit(X, y)
    assert (balanced.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()


def test_user_lr_scheduler_runs_through_both_stages(data):
    X, y = data
    rates = []

    class Rate(Callback):
        def on_epoch_end(self, net, **kwargs):
            rates.append(net.optimizer_.param_groups[0]["lr"])

    WrongEventClassifier(
        Logits, callbacks=[LRScheduler(policy="StepLR", step_size=1, gamma=0.5), Rate()], **FAST
    ).fit(X, y)
    # StepLR steps at the end of each epoch, before Rate reads the rate.
    np.testing.assert_allclose(rates, [FAST["lr"] * 0.5**epoch for epoch in range(1, 7)])


def test_sampler_replaces_shuffling(net_class, data):
    X, y = data
    sampler = torch.utils.data.RandomSampler(range(len(y)))
    net = make(net_class, iterator_train__sampler=sampler).fit(X, y)
    assert net.score(X, y) > 0.7


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_net_trimmed_for_prediction_refuses_training_and_still_predicts(net_class, data, method):
    X, y = data
    net = make(net_class).fit(X, y)
    expected = net.predict_proba(X)
    net.trim_for_prediction()
    with pytest.raises(SkorchTrainingImpossibleError, match="trimmed for prediction"):
        getattr(net, method)(X, y)
    np.testing.assert_allclose(net.predict_proba(X), expected)


def test_max_epochs_zero_initializes_and_sets_classes(net_class, data):
    X, y = data
    net = make(net_class, max_epochs=0, module=Logits)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net.fit(X, np.array(["a", "b"])[y])
    np.testing.assert_array_equal(net.classes_, ["a", "b"])
    assert net.predict(X).shape == (200,)
    if net_class is WrongEventClassifier:  # nothing was trained: nothing judged, and it says so
        assert [str(w.message) for w in caught if "No epoch was trained" in str(w.message)]
        assert not net.noise_mask_.any() and net.wrong_events_.sum() == 0
        assert np.isnan(net.sample_cleanliness_).all() and np.isnan(net.label_quality_).all()


def test_metadata_routing_rejects_unrequested_metadata(net_class, data):
    X, y = data
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(TypeError, match="unexpected argument"):
            make(net_class, module=Logits).fit(X, y, unknown=1)


def test_metadata_routing_reaches_the_module_from_partial_fit(net_class, data):
    X, y = data
    seen = []
    Recording = recording(seen)

    with sklearn.config_context(enable_metadata_routing=True):
        net = make(net_class, module=Recording, max_epochs=1).set_partial_fit_request(foo=True)
        net.partial_fit(X, y, foo=1)
    assert seen and all(kwargs == {"foo": 1} for kwargs in seen)


def test_pickle_keeps_auto_device(net_class, data):
    X, y = data
    net = make(net_class).fit(X, y)
    restored = pickle.loads(pickle.dumps(net))
    assert restored.get_params()["device"] == "auto"
    np.testing.assert_array_equal(restored.predict_proba(X), net.predict_proba(X))


def test_valid_split_with_early_stopping(net_class, data):
    X, y = data
    net = make(
        net_class,
        train_split=ValidSplit(0.2, stratified=True, random_state=0),
        callbacks=[EarlyStopping(patience=2, load_best=True)],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # held-out rows are not judged
        net.fit(X, np.array(["no", "yes"])[y])
    assert "valid_acc" in net.history[-1] and net.history[-1, "valid_acc"] > 0.6


def test_a_given_history_instance_is_used(net_class, data):
    from skorch.history import History

    class MyHistory(History):
        pass

    net = make(net_class, module=Logits, history=MyHistory()).fit(*data)
    assert isinstance(net.history, MyHistory) and len(net.history) == FAST["max_epochs"]


def test_train_step_overridden_for_gradient_accumulation(net_class, data):
    """skorch's recipe: override train_step, step the optimizer every second batch."""

    class Accumulating(net_class):
        def train_step(self, batch, **fit_params):
            step = self.train_step_single(batch, **fit_params)
            if len(self.history[-1, "batches"]) % 2 == 0:
                self.optimizer_.step()
                self.optimizer_.zero_grad()
            return step

    net = make(Accumulating, module=Logits, batch_size=25).fit(*data)  # 8 batches per epoch
    # The robust stage starts a fresh optimizer.
    epochs = getattr(net, "robust_epochs_", 0) or FAST["max_epochs"]
    assert net.optimizer_.state[net.module_.linear.weight]["step"] == 4 * epochs
    assert net.score(*data) > 0.7


def test_modules_under_other_names_train_through_both_stages(data):
    """skorch's recipe for a net whose module is not ``module_``."""

    class Renamed(WrongEventClassifier):
        def initialize_module(self):
            self.body_ = Logits()
            return self

        def infer(self, x, **fit_params):
            return self.body_(x.to(self.device))

    net = make(Renamed, max_epochs=10).fit(*data)
    assert "module_" not in vars(net) and net.robust_epochs_ > 0
    assert net.score(*data) > 0.7


def test_a_criterion_under_another_name_trains_through_both_stages(data):
    """skorch's recipe for a net whose criterion is not ``criterion_``."""

    class Renamed(WrongEventClassifier):
        def initialize_criterion(self):
            self.my_loss_ = torch.nn.CrossEntropyLoss()
            return self

        def get_loss(self, y_pred, y_true, X=None, training=False):
            return self.my_loss_(y_pred, y_true)

    net = make(Renamed, module=Logits, max_epochs=10).fit(*data)
    assert "criterion_" not in vars(net) and net.robust_epochs_ > 0
    assert net.score(*data) > 0.7


class TwoOutputs(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(8, 2)

    def forward(self, X):
        return self.linear(X), X.sum(dim=1)


def test_a_module_with_several_outputs_trains_and_predicts_on_the_first(net_class, data):
    X, y = data
    net = make(net_class, module=TwoOutputs, max_epochs=10).fit(X, y)
    assert net.predict_proba(X).shape == (len(X), 2) and net.score(X, y) > 0.7
    if net_class is WrongEventClassifier:
        assert net.robust_epochs_ > 0
        np.testing.assert_array_equal(net.predicted_labels_, net.predict(X))


def test_get_loss_overridden_for_several_outputs_receives_them_all(net_class, data):
    """skorch's recipe: get_loss unpacks the outputs and scores the first."""
    auxiliary = []

    class Unpacking(net_class):
        def get_loss(self, y_pred, y_true, *args, **kwargs):
            logits, extra = y_pred
            auxiliary.append(extra.shape)
            return super().get_loss(logits, y_true, *args, **kwargs)

    make(Unpacking, module=TwoOutputs).fit(*data)
    assert auxiliary and all(len(shape) == 1 for shape in auxiliary)


class TokenBag(torch.nn.Module):
    def __init__(self, vocabulary=30, n_classes=2):
        super().__init__()
        self.bag = torch.nn.EmbeddingBag(vocabulary, 8)
        self.out = torch.nn.Linear(8, n_classes)

    def forward(self, X):
        return self.out(self.bag(X))


def test_integer_rows_reach_an_embedding_module_as_token_ids(net_class):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 30, size=(300, 6))
    y = np.isin(X, [1, 2, 3]).any(axis=1).astype(int)
    net = make(net_class, module=TokenBag, max_epochs=10).fit(X, y)
    assert net.predict(X[:5]).shape == (5,) and net.score(X, y) > 0.6
    if net_class is WrongEventClassifier:
        assert net.robust_epochs_ > 0 and net.views_ is None  # no view keeps an id's meaning
    # Other modules get integer rows as float32 features.
    features = make(net_class, module=Logits, max_epochs=2).fit(X.repeat(2, axis=1)[:, :8], y)
    assert features.predict_proba(X.repeat(2, axis=1)[:5, :8]).dtype == np.float32


def test_set_params_on_an_initialized_net_prints_skorchs_reinitialization_messages(
    net_class, capsys
):
    net = make(net_class, module=Logits, verbose=1).initialize()
    net.set_params(module__n_features=8)
    assert capsys.readouterr().out.splitlines() == [
        "Re-initializing module because the following parameters were re-set: module__n_features.",
        "Re-initializing criterion.",
        "Re-initializing optimizer.",
    ]
    net.set_params(criterion__reduction="mean")
    assert capsys.readouterr().out.splitlines() == [
        "Re-initializing criterion because the following parameters were re-set: "
        "criterion__reduction.",
        "Re-initializing optimizer.",
    ]


def test_fit_twice_with_warm_start_keeps_the_history_growing(net_class, data):
    X, y = data
    net = make(net_class, warm_start=True).fit(X, y)
    assert len(net.fit(X, y).history) == 2 * FAST["max_epochs"]
    net.set_params(warm_start=False)
    assert len(net.fit(X, y).history) == FAST["max_epochs"]


def test_forward_params_reach_every_training_batch_and_the_final_pass(net_class, data):
    # WrongEventClassifier ends fit with one pass over the training rows (predicted_labels_
    # and the final verdict), which gets the same keyword arguments as training did.
    X, y = data
    seen = []
    Recording = recording(seen)

    net = make(net_class, module=Recording, max_epochs=1, batch_size=50, train_split=None)
    net.fit(X, y, foo=1)
    extra = 4 if net_class is WrongEventClassifier else 0
    assert seen == [{"foo": 1}] * (4 + extra)  # 200 rows in batches of 50


def test_predefined_split_validates_on_the_dataset_given(net_class, data):
    from skorch.helper import predefined_split

    X, y = data
    valid = Dataset(X[:50], y[:50])
    seen = []

    class Loader(torch.utils.data.DataLoader):
        def __init__(self, dataset, **kwargs):
            seen.append(dataset)
            super().__init__(dataset, **kwargs)

    net = make(net_class, iterator_valid=Loader, train_split=predefined_split(valid))
    net.fit(X, y)
    # skorch builds the validation iterator once per fit. WrongEventClassifier's passes over
    # the training rows at the end of fit are predictions too, so they use iterator_valid.
    assert seen[0] is valid and all(dataset is not valid for dataset in seen[1:])
    assert len(seen) == 1 or net_class is WrongEventClassifier


def test_classes_must_name_classes_and_a_datasets_labels_are_read(net_class, data):
    X, y = data
    with pytest.raises(ValueError, match="classes is empty"):
        make(net_class, classes=[], max_epochs=0).fit(X, y)

    class NoTargets(torch.utils.data.Dataset):  # labels only in the items
        def __len__(self):
            return len(X)

        def __getitem__(self, i):
            return X[i], y[i]

    net = make(net_class, max_epochs=0, train_split=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # nothing trained, nothing judged
        net.fit(NoTargets(), None)
    np.testing.assert_array_equal(net.classes_, [0, 1])
