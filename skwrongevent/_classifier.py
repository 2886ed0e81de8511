"""WrongEventClassifier: the IDO method as a skorch classifier."""

import copy
import math
import numbers
import warnings
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from skorch import NeuralNetClassifier

from ._data import (
    Rows,
    concat,
    dataset_inputs,
    dataset_labels,
    dict_rows,
    is_dataset,
    is_dict,
    on_host,
    row_shape,
    sample_rows,
    to_device,
    validate_dict,
)
from ._mixture import BetaMixture
from ._modules import MLP
from ._report import LabelIssuesMixin
from ._views import ImageViews, TabularViews

MIXTURES = ("per_class", "global")
INITIAL_EM_ITERATIONS = 20
REFIT_EM_ITERATIONS = {"global": 1, "per_class": 2}
MIN_CLASS_ROWS = 10
FINAL_LR_FACTOR = 0.1


class WrongEventClassifier(LabelIssuesMixin, NeuralNetClassifier):
    """Neural network classifier that is robust to wrong training labels.

    Implements IDO (Zhang et al., NeurIPS 2025) on top of skorch's
    ``NeuralNetClassifier``. ``fit`` runs two stages over ``max_epochs``:

    1. **Warm-up** (``warmup_fraction`` of the epochs): plain cross-entropy
       training that counts, for every row, its *wrong events*: how often
       the prediction in a training forward pass disagrees with the given
       label. The *base model* is a copy of the weights at the first local
       minimum of the number of rows whose prediction changed between
       epochs.
    2. **Robust training** from the base model: a two-component beta mixture
       on the counts gives each row a clean probability and a difficulty;
       the loss over a weak and a strong view of each row weights a
       cross-entropy term, a consistency term and an entropy term per row
       by these, with no coefficients to tune. The mixture is refitted
       after every epoch on the updated counts.

    Everything skorch offers keeps working: ``module__*`` and
    ``optimizer__*`` routing, callbacks, ``history``, checkpointing.
    Unlike plain skorch, labels of any type are encoded into ``classes_``,
    input is validated the scikit-learn way, every row is used for
    training, and ``random_state`` makes CPU results reproducible.

    Parameters
    ----------
    module : torch module class or instance, default=None
        The network; it must return one logit per class. ``None`` builds
        an :class:`MLP` sized from the data (``module__hidden_units``,
        ``module__dropout`` set its shape).
    criterion : torch criterion class, default=torch.nn.CrossEntropyLoss
        Loss of the warm-up stage, on logits. The robust stage always uses
        the IDO loss.
    optimizer : torch optimizer class, default=torch.optim.AdamW
        A fresh instance is built for the robust stage.
    lr : float, default=3e-3
        Learning rate; constant during warm-up, then cosine-annealed to
        ``lr / 10`` over the robust stage.
    max_epochs : int, default=40
        Total epochs of both stages.
    batch_size : int, default=128
        Rows per batch. Training batches are drawn in a new random order
        every epoch (skorch's ``iterator_train__shuffle``, here ``True``
        unless you set it).
    warmup_fraction : float in (0, 1], default=0.25
        Share of ``max_epochs`` spent in the warm-up stage (at least one
        epoch). Give the warm-up at least about 5 epochs: after only one or
        two, a class the network has not learned yet looks mislabelled.
        ``1.0`` skips robust training: the fitted network is the base model
        and the statistics come from the warm-up counts.
    mixture : {"global", "per_class"}, default="global"
        One beta mixture for all rows, or one per given class (the paper's
        choice). With ``"per_class"`` a class with fewer than 10 rows or
        all-equal counts uses the global one. The global mixture is the
        default because it matched or beat the per-class one in our
        benchmarks and, unlike it, does not flag clean rows of easy classes
        when labels are nearly clean (see the README).
    views : "auto", None, object or (callable, callable), default="auto"
        How the robust stage makes the weak and strong view of a batch.
        ``"auto"`` uses :class:`TabularViews` for rows of features and
        :class:`ImageViews` for images (rows of shape (channels, height,
        width)); pass ``ImageViews(flip=False)`` where mirror images mean
        something else, such as digits. ``None`` uses the batch itself for
        both. An object with ``weak`` and ``strong`` methods (and
        optionally ``fit(X)``) or a pair of callables maps a batch (tensor,
        or dict of tensors for dict input) to a batch on the same device.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and the views
        without touching torch's global generator. With an int, fitting
        on the CPU is reproducible.
    train_split : None or callable, default=None
        skorch's validation split. Every row must be trained on and
        counted, so only splits that keep all rows (such as
        ``skorch.helper.predefined_split(valid_dataset)``) are accepted.
    device : str or torch.device, default="auto"
        ``"auto"`` picks CUDA when available, else the CPU. On CUDA, batches
        are loaded into pinned memory unless ``iterator_train__pin_memory``
        (or ``iterator_valid__pin_memory``) says otherwise.
    mixed_precision : bool, default=False
        Run the network's forward passes under ``torch.autocast`` in
        bfloat16 (losses stay in float32). Faster on recent GPUs; results
        differ slightly from full precision.
    verbose : int, default=0
        skorch's verbosity: 1 prints a table per epoch.
    classes : array-like or None, default=None
        All class labels; ``None`` takes those found in ``y``.
    **kwargs
        Any other skorch parameter (``callbacks``, ``iterator_train__*``,
        ``module__*``, ``optimizer__*``, ...).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features (``X.shape[1]``) for array input.
    input_shape_ : tuple or None
        Shape of one row's input (``X.shape[1:]`` for arrays, of one
        item's input for datasets); None for dict input.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` had string column names.
    wrong_events_ : ndarray of shape (n_rows,), dtype=int64
        Final wrong-event count of each training row.
    sample_cleanliness_ : ndarray of shape (n_rows,)
        Probability that each row's label is right (clean posterior of the
        final mixture at the final count).
    sample_difficulty_ : ndarray of shape (n_rows,)
        Where each row sits inside the clean component, in [0, 1]: 0 for
        rows never wrong, near 1 for rows wrong as often as the hardest
        clean rows.
    noise_mask_ : ndarray of shape (n_rows,), dtype=bool
        ``sample_cleanliness_ < 0.5``: the rows whose label is judged wrong.
    mixture_ : BetaMixture
        Mixture fitted on all rows' counts.
    class_mixtures_ : list of BetaMixture or None
        With ``mixture="per_class"``, the mixture used for each class
        (``mixture_`` where a class fell back to it); else None.
    prediction_changes_ : ndarray of shape (warmup_epochs_ - 1,)
        Number of rows whose warm-up prediction changed, for epochs 2, 3, ...
    base_epoch_ : int
        Warm-up epoch whose weights started robust training.
    warmup_epochs_ : int
        Epochs in the warm-up stage.
    robust_epochs_ : int
        Epochs in the robust stage.
    device_ : str
        Device the network was trained on.
    history_ : skorch.History
        Per-epoch log, with ``stage`` and ``prediction_change`` (rows whose
        prediction, of the weak view in the robust stage, changed since the
        previous epoch) besides skorch's entries.

    See Also
    --------
    WrongEventCleaner : drops the rows this model judges mislabelled.
    BetaMixture : the mixture on wrong-event counts.

    Notes
    -----
    The two views of a batch go through the network as one concatenated
    batch, so batch-normalisation statistics are shared by both views.

    References
    ----------
    .. [1] Zhang et al., "Handling Label Noise via Instance-Level Difficulty
       Modeling and Dynamic Optimization", NeurIPS 2025, arXiv:2505.00812.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skwrongevent import WrongEventClassifier, inject_label_noise
    >>> X, y = load_iris(return_X_y=True)
    >>> y_noisy, is_wrong = inject_label_noise(y, 0.2, random_state=0)
    >>> clf = WrongEventClassifier(max_epochs=20, lr=1e-2, random_state=0)
    >>> clf = clf.fit(X, y_noisy)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> clf.noise_mask_.shape, clf.sample_cleanliness_.shape
    ((150,), (150,))
    """

    def __init__(
        self,
        module=None,
        *,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.AdamW,
        lr=3e-3,
        max_epochs=40,
        batch_size=128,
        warmup_fraction=0.25,
        mixture="global",
        views="auto",
        random_state=None,
        train_split=None,
        device="auto",
        mixed_precision=False,
        verbose=0,
        classes=None,
        **kwargs,
    ):
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            device=device,
            verbose=verbose,
            classes=classes,
            **kwargs,
        )
        self.warmup_fraction = warmup_fraction
        self.mixture = mixture
        self.views = views
        self.mixed_precision = mixed_precision
        self.random_state = random_state

    # ------------------------------------------------------------------
    # Fitted state that skorch would otherwise manage
    # ------------------------------------------------------------------

    @property
    def classes_(self):
        if "classes_" not in self.__dict__:
            raise AttributeError(
                f"This {type(self).__name__} is not fitted yet: classes_ is set by fit."
            )
        return self.__dict__["classes_"]

    @classes_.setter
    def classes_(self, value):
        self.__dict__["classes_"] = value

    @property
    def partial_fit(self):
        raise AttributeError(
            f"{type(self).__name__} has no partial_fit: wrong events are counted over a "
            "whole training run, so call fit on all rows."
        )

    def _get_param_names(self):
        # skorch lists every attribute without a trailing underscore, which would
        # expose its private bookkeeping (``_params_to_validate``) as parameters.
        return [name for name in super()._get_param_names() if not name.startswith("_")]

    def check_is_fitted(self, attributes=None, *args, **kwargs):
        check_is_fitted(self, attributes or ["module_", "classes_"], *args, **kwargs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.allow_nan = False
        return tags

    # ------------------------------------------------------------------
    # Device and seeding
    # ------------------------------------------------------------------

    def _resolve_device(self):
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return self.device

    @contextmanager
    def _on_device(self):
        """Let skorch's code read the resolved device while inside."""
        requested = self.__dict__["device"]
        if not isinstance(requested, str) or requested != "auto":
            yield
            return
        self.__dict__["device"] = self.__dict__.get("device_") or self._resolve_device()
        try:
            yield
        finally:
            self.__dict__["device"] = requested

    @contextmanager
    def _seeded(self):
        """Seed torch inside a fork of its generators, leaving the caller's intact."""
        if self.random_state is None:
            yield
            return
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        on_cuda = str(self.device).startswith("cuda")
        with torch.random.fork_rng(devices=[torch.cuda.current_device()] if on_cuda else []):
            torch.manual_seed(seed)
            yield

    def initialize(self):
        with self._on_device():
            return super().initialize()

    def initialize_module(self):
        if self.module is not None:
            super().initialize_module()
            if self.module_ is self.module:  # never train the caller's instance in place
                self.module_ = copy.deepcopy(self.module)
            return self
        if self.input_shape_ is None or len(self.input_shape_) != 1:
            raise ValueError(
                "module=None builds an MLP for rows of features, but each input has shape "
                f"{self.input_shape_}: pass your own module (a CNN for images)."
            )
        kwargs = {"n_features": self.input_shape_[0], "n_classes": len(self.classes_)}
        kwargs.update(self.get_params_for("module"))
        self.module_ = MLP(**kwargs)
        return self

    def forward_iter(self, X, training=False, device="cpu"):
        with self._on_device():
            yield from super().forward_iter(X, training=training, device=device)

    def load_params(self, *args, **kwargs):
        with self._on_device():
            return super().load_params(*args, **kwargs)

    def __setstate__(self, state):
        requested = state["device"]
        if requested == "auto":
            state["device"] = state.get("device_") or "cpu"
        super().__setstate__(state)
        self.device_ = self.__dict__["device"]
        self.__dict__["device"] = requested

    # ------------------------------------------------------------------
    # Validation
    # ------------------------------------------------------------------

    def _check_params(self):
        if not isinstance(self.max_epochs, numbers.Integral) or self.max_epochs < 1:
            raise ValueError(f"max_epochs must be an int >= 1, got {self.max_epochs!r}.")
        fraction = self.warmup_fraction
        if not isinstance(fraction, numbers.Real) or not 0 < fraction <= 1:
            raise ValueError(f"warmup_fraction must be a float in (0, 1], got {fraction!r}.")
        if self.mixture not in MIXTURES:
            raise ValueError(f"mixture must be one of {MIXTURES}, got {self.mixture!r}.")
        views = self.views
        pair = isinstance(views, tuple) and len(views) == 2 and all(map(callable, views))
        has_methods = callable(getattr(views, "weak", None)) and callable(
            getattr(views, "strong", None)
        )
        if not (views is None or views == "auto" or pair or has_methods):
            raise ValueError(
                "views must be 'auto', None, a pair of callables (weak, strong) or an "
                f"object with weak and strong methods, got {views!r}."
            )

    def _validate_training_data(self, X, y):
        """Check the data and encode the labels.

        Returns
        -------
        inputs : indexable
            Item ``i`` is row ``i``'s input (an array row, a dict of array
            rows, or a dataset item's input).
        codes : ndarray of shape (n_rows,), dtype=int64
            Each row's label as an index into ``classes_``.
        """
        if is_dataset(X):
            inputs, y = dataset_inputs(X), dataset_labels(X, y)
            self._forget_feature_info()
        elif y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        elif is_dict(X):
            inputs = dict_rows(X)
            self._forget_feature_info()
        else:
            inputs, y = validate_data(
                self, on_host(X), on_host(y), dtype=np.float32, allow_nd=True, reset=True
            )
        y = column_or_1d(on_host(y), warn=True)
        if len(y) != len(inputs):
            raise ValueError(f"X has {len(inputs)} rows but y has {len(y)} labels.")
        check_classification_targets(y)
        self.input_shape_ = row_shape(inputs)
        return inputs, self._encode_labels(y)

    def _forget_feature_info(self):
        for name in ("n_features_in_", "feature_names_in_"):
            self.__dict__.pop(name, None)

    def _encode_labels(self, y):
        if self.classes is None:
            self.classes_ = np.unique(y)
        else:
            self.classes_ = np.asarray(self.classes)
            unseen = np.setdiff1d(y, self.classes_)
            if unseen.size:
                raise ValueError(
                    f"y contains labels {unseen.tolist()} that are not in classes="
                    f"{self.classes_.tolist()}."
                )
        if np.unique(y).size < 2:
            raise ValueError(
                f"y contains one class only ({y[0]!r}): a classifier needs at least two classes."
            )
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _validate_prediction_data(self, X):
        self.check_is_fitted()
        if is_dataset(X):
            return X  # skorch reads datasets as they are
        if is_dict(X):
            return validate_dict(X)
        X = on_host(X)
        # Compare the number of axes before validate_data, which only looks at the second axis
        # and leaves 1-D input to its own "reshape your data" error.
        dimensions = getattr(X, "ndim", 0)
        if self.input_shape_ and dimensions > 1 and dimensions != len(self.input_shape_) + 1:
            raise ValueError(
                f"X has rows of shape {X.shape[1:]}, but the classifier was fitted on rows "
                f"of shape {self.input_shape_}."
            )
        return validate_data(self, X, dtype=np.float32, allow_nd=True, reset=False)

    def _check_logits(self, logits):
        n_classes = len(self.classes_)
        if logits.ndim != 2 or logits.shape[1] != n_classes:
            raise ValueError(
                f"The module returned output of shape {tuple(logits.shape)}, but there are "
                f"{n_classes} classes: it must return logits of shape (batch_size, {n_classes})."
            )

    # ------------------------------------------------------------------
    # fit
    # ------------------------------------------------------------------

    def fit(self, X, y=None, **fit_params):
        """Train both stages and score every training row.

        Parameters
        ----------
        X : array-like, tensor, dict of arrays or torch Dataset
            Training data: an array or tensor of shape (n_samples, ...)
            such as (n_samples, n_features) or images (n_samples, channels,
            height, width); a dict of such arrays, passed to the module's
            ``forward`` as keyword arguments; or a torch ``Dataset`` of
            (input, label) pairs or a skorch ``SliceDataset``, read batch by
            batch so that data larger than memory can be streamed.
        y : array-like of shape (n_samples,) or None, default=None
            Given labels, possibly wrong. Any label type. ``None`` only for a
            ``Dataset``, whose ``targets`` or ``y`` attribute or items'
            labels are then used.
        **fit_params : dict
            Passed to the module's ``forward``, as in skorch.

        Returns
        -------
        self : WrongEventClassifier
            The fitted classifier.
        """
        self._check_params()
        inputs, codes = self._validate_training_data(X, y)
        self.device_ = self._resolve_device()
        with self._on_device(), self._seeded():
            if not self.warm_start or not self.initialized_:
                self.initialize()
            self.notify("on_train_begin", X=inputs, y=codes)
            self.fit_loop(inputs, codes, **fit_params)
            self.notify("on_train_end", X=inputs, y=codes)
        return self

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """Run the warm-up and robust stages; ``epochs`` is ignored.

        ``X`` is the indexable of row inputs and ``y`` the label codes that
        ``fit`` made from the caller's data.
        """
        dataset_train, dataset_valid = Rows(X, y), None
        if self.train_split:
            kept, dataset_valid = self.train_split(dataset_train, y, **fit_params)
            if len(kept) != len(y):
                raise ValueError(
                    f"train_split kept {len(kept)} of {len(y)} rows for training, but every "
                    "row must be trained on and counted. Use train_split=None, or "
                    "skorch.helper.predefined_split(valid_dataset) for a separate validation set."
                )
        iterators = (
            self.get_iterator(dataset_train, training=True),
            None if dataset_valid is None else self.get_iterator(dataset_valid),
        )
        datasets = {"dataset_train": dataset_train, "dataset_valid": dataset_valid}
        self._split_epochs()
        self._start_tracking(X, y)
        self._warm_up(iterators, datasets, **fit_params)
        self._fit_mixtures(refit=False)
        if self.robust_epochs_:
            self._train_robustly(iterators, datasets, **fit_params)
        else:
            self.module_.load_state_dict(self.base_state_)
        self._set_row_statistics()
        del self.tracker_, self.base_state_
        return self

    def _split_epochs(self):
        self.warmup_epochs_ = min(
            self.max_epochs, max(1, round(self.warmup_fraction * self.max_epochs))
        )
        self.robust_epochs_ = self.max_epochs - self.warmup_epochs_

    def _start_tracking(self, X, codes):
        self._given_codes_ = codes
        self.tracker_ = WrongEventTracker(codes, device=self.device)
        self.views_ = self._make_views(X)
        self.prediction_changes_ = np.zeros(0, dtype=np.int64)
        self.base_epoch_ = 0

    def _make_views(self, X):
        views = self.views
        if views is None:
            return (_identity, _identity)
        if isinstance(views, tuple):
            return views
        if isinstance(views, str):
            views = self._default_views()
        views = copy.deepcopy(views)
        if hasattr(views, "fit"):
            views.fit(sample_rows(X))
        return (views.weak, views.strong)

    def _default_views(self):
        dimensions = None if self.input_shape_ is None else len(self.input_shape_)
        if dimensions == 1:
            return TabularViews()
        if dimensions == 3:
            return ImageViews()
        kind = "dict input" if dimensions is None else f"rows of shape {self.input_shape_}"
        raise ValueError(
            f"views='auto' has views for rows of features and for images (channels, height, "
            f"width), not for {kind}: pass views=None or your own (weak, strong) callables."
        )

    def _run_epoch(self, stage, iterators, datasets, **fit_params):
        self.stage_ = stage
        self.notify("on_epoch_begin", **datasets)
        self.history.record("stage", stage)
        iterator_train, iterator_valid = iterators
        self.run_single_epoch(
            iterator_train, training=True, prefix="train", step_fn=self.train_step, **fit_params
        )
        self.run_single_epoch(
            iterator_valid,
            training=False,
            prefix="valid",
            step_fn=self.validation_step,
            **fit_params,
        )
        changes = self.tracker_.pop_prediction_changes()
        self.history.record("prediction_change", changes)
        return changes

    def _warm_up(self, iterators, datasets, **fit_params):
        for epoch in range(1, self.warmup_epochs_ + 1):
            changes = self._run_epoch(1, iterators, datasets, **fit_params)
            if epoch > 1:
                self.prediction_changes_ = np.append(self.prediction_changes_, changes)
            self._select_base_model(epoch)
            self.notify("on_epoch_end", **datasets)

    def _select_base_model(self, epoch):
        """Keep a copy of the weights while the prediction change still decreases."""
        if select_base_epoch(self.prediction_changes_) == epoch:
            self.base_epoch_ = epoch
            self.base_state_ = {
                name: tensor.detach().clone() for name, tensor in self.module_.state_dict().items()
            }

    def _train_robustly(self, iterators, datasets, **fit_params):
        self.module_.load_state_dict(self.base_state_)
        self.initialize_optimizer()
        for epoch in range(self.robust_epochs_):
            self._anneal_learning_rate(epoch)
            self._run_epoch(2, iterators, datasets, **fit_params)
            self._fit_mixtures(refit=True)
            self.notify("on_epoch_end", **datasets)

    def _anneal_learning_rate(self, epoch):
        """Cosine schedule from each group's initial rate down to a tenth of it."""
        progress = 0.5 * (1 + math.cos(math.pi * epoch / self.robust_epochs_))
        for group in self.optimizer_.param_groups:
            start = group.setdefault("initial_lr", group["lr"])
            group["lr"] = start * (FINAL_LR_FACTOR + (1 - FINAL_LR_FACTOR) * progress)

    def _fit_mixtures(self, refit):
        """Fit (or warm-start refit) the mixture(s) and tabulate their weights."""
        counts = self.tracker_.wrong.cpu().numpy()
        codes = self._given_codes_
        n_iter = REFIT_EM_ITERATIONS[self.mixture] if refit else INITIAL_EM_ITERATIONS
        with warnings.catch_warnings():
            if refit:
                warnings.simplefilter("ignore", UserWarning)
            if not refit:
                self.mixture_ = BetaMixture(warm_start=True)
            self.mixture_.set_params(max_iter=n_iter).fit(counts)
            self.class_mixtures_ = self._fit_class_mixtures(counts, codes, n_iter, refit)
        mixtures = self.class_mixtures_ or [self.mixture_] * len(self.classes_)
        table = mixture_table(mixtures, self.warmup_epochs_ + 2 * self.robust_epochs_)
        self.tracker_.table = table.to(self.device)

    def _fit_class_mixtures(self, counts, codes, n_iter, refit):
        if self.mixture == "global":
            return None
        previous = self.class_mixtures_ if refit else [None] * len(self.classes_)
        mixtures = []
        for code, mixture in enumerate(previous):
            class_counts = counts[codes == code]
            if class_counts.size < MIN_CLASS_ROWS or np.ptp(class_counts) == 0:
                mixtures.append(self.mixture_)
                continue
            iterations = n_iter
            if mixture is None or mixture is self.mixture_:
                mixture, iterations = BetaMixture(warm_start=True), INITIAL_EM_ITERATIONS
            mixtures.append(mixture.set_params(max_iter=iterations).fit(class_counts))
        return mixtures

    def _set_row_statistics(self):
        codes = self._given_codes_
        self._last_predictions_ = self.tracker_.last_prediction.cpu().numpy()
        counts = self.tracker_.wrong.cpu().numpy().astype(np.int64)
        table = self.tracker_.table.cpu().numpy()
        self.wrong_events_ = counts
        self.sample_cleanliness_ = table[codes, counts, 0].astype(np.float64)
        self.sample_difficulty_ = table[codes, counts, 2].astype(np.float64)
        self.noise_mask_ = self.sample_cleanliness_ < 0.5

    def _row_labels(self):
        """Given and last-predicted label of every training row."""
        check_is_fitted(self, "wrong_events_")
        return self.classes_[self._given_codes_], self.classes_[self._last_predictions_]

    # ------------------------------------------------------------------
    # Training steps
    # ------------------------------------------------------------------

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi, rows = (to_device(part, self.device) for part in batch)
        if self.stage_ == 1:
            loss, logits = self._warmup_step(Xi, yi, rows, **fit_params)
        else:
            loss, logits = self._robust_step(Xi, yi, rows, **fit_params)
        loss.backward()
        return {"loss": loss, "y_pred": logits}

    def _warmup_step(self, Xi, yi, rows, **fit_params):
        logits = self.infer(Xi, **fit_params)
        self._check_logits(logits)
        self.tracker_.record_warmup(logits.detach().argmax(dim=1), rows)
        return self.get_loss(logits, yi, X=Xi, training=True), logits

    def _robust_step(self, Xi, yi, rows, **fit_params):
        weak, strong = self.views_
        logits = self.infer(concat(weak(Xi), strong(Xi)), **fit_params)
        self._check_logits(logits)
        logits_weak, logits_strong = logits.chunk(2)
        weights = self.tracker_.record_robust(
            logits_weak.detach().argmax(dim=1), logits_strong.detach().argmax(dim=1), rows
        )
        return self.get_robust_loss(logits_weak, logits_strong, yi, *weights), logits_weak

    def get_robust_loss(
        self, logits_weak, logits_strong, y_true, clean, noisy, clean_cdf, noisy_cdf
    ):
        """Loss of one robust-stage batch; override to change it (as skorch's ``get_loss``).

        Receives the arguments of :func:`robust_loss` and returns a scalar tensor.
        """
        return robust_loss(logits_weak, logits_strong, y_true, clean, noisy, clean_cdf, noisy_cdf)

    def infer(self, x, **fit_params):
        """The module's logits for a batch, in float32 (see ``mixed_precision``)."""
        if not self.mixed_precision:
            return super().infer(x, **fit_params)
        device_type = torch.device(self.device).type
        with torch.autocast(device_type, dtype=torch.bfloat16):
            return super().infer(x, **fit_params).float()

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's epoch loop, reading the batch losses back once per epoch.

        skorch reads each batch's loss with ``.item()``, which waits for the
        GPU after every batch. Here the history holds the loss tensors until
        the epoch ends and then gets plain floats, so callbacks that run
        after the epoch see the usual history.
        """
        if iterator is None:
            return
        records, losses = [], []
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            losses.append(step["loss"].detach())
            self.history.record_batch(prefix + "_loss", losses[-1])
            self.history.record_batch(prefix + "_batch_size", len(batch[1]))
            records.append(self.history[-1]["batches"][-1])
            self.notify("on_batch_end", batch=batch, training=training, **step)
        values = torch.stack(losses).tolist() if losses else []
        for record, loss in zip(records, values, strict=True):
            record[prefix + "_loss"] = loss
        self.history.record(prefix + "_batch_count", len(records))

    def get_params_for(self, prefix):
        params = super().get_params_for(prefix)
        if prefix == "iterator_train":
            params.setdefault("shuffle", True)  # skorch's default is False
        on_cuda = str(self._resolve_device()).startswith("cuda")
        if on_cuda and prefix in ("iterator_train", "iterator_valid"):
            params.setdefault("pin_memory", True)
        return params

    # ------------------------------------------------------------------
    # Prediction
    # ------------------------------------------------------------------

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like, tensor, dict of arrays or torch Dataset
            Input rows, in the form ``fit`` was given (a ``Dataset`` yields
            (input, label) pairs, the label being ignored).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Softmax of the network's logits, columns ordered as ``classes_``.
        """
        return super().predict_proba(self._validate_prediction_data(X))

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like, tensor, dict of arrays or torch Dataset
            Input rows, in the form ``fit`` was given (a ``Dataset`` yields
            (input, label) pairs, the label being ignored).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]


class WrongEventTracker:
    """Per-row counters on the training device, updated without host syncs.

    Holds three integers per row (count, label, last prediction), so memory
    grows with the number of rows only, never with rows times classes.

    Parameters
    ----------
    labels : array-like of shape (n_rows,)
        Each row's given label as a class code.
    device : str or torch.device
        Where the counters live.
    """

    def __init__(self, labels, device):
        self.labels = torch.as_tensor(labels, dtype=torch.int64).to(device)
        self.wrong = torch.zeros_like(self.labels)
        self.last_prediction = torch.full_like(self.labels, -1)
        self.changes = torch.zeros((), dtype=torch.int64, device=device)
        self.table = None

    def record_warmup(self, predicted, rows):
        """Count wrong events and prediction changes of one warm-up batch."""
        self.wrong[rows] += predicted != self.labels[rows]
        self._record_changes(predicted, rows)

    def _record_changes(self, predicted, rows):
        self.changes += (predicted != self.last_prediction[rows]).sum()
        self.last_prediction[rows] = predicted

    def pop_prediction_changes(self):
        """Rows whose prediction changed this epoch (one host sync per epoch)."""
        changes = int(self.changes)
        self.changes.zero_()
        return changes

    def record_robust(self, predicted_weak, predicted_strong, rows):
        """Count both views' wrong events, then look up the mixture weights.

        Returns
        -------
        clean, noisy, clean_cdf, noisy_cdf : torch.Tensor of shape (batch_size,)
            ``p_0``, ``p_1``, ``F_0`` and ``F_1`` at the updated counts.
        """
        labels = self.labels[rows]
        self.wrong[rows] += (predicted_weak != labels).long() + (predicted_strong != labels)
        self._record_changes(predicted_weak, rows)
        counts = self.wrong[rows].clamp(max=self.table.shape[1] - 1)
        return self.table[labels, counts].unbind(dim=1)


def select_base_epoch(prediction_changes):
    """Epoch whose weights become the base model.

    Parameters
    ----------
    prediction_changes : array-like of shape (n_epochs - 1,)
        Rows whose prediction changed at epochs 2, 3, ..., n_epochs.

    Returns
    -------
    epoch : int
        The last epoch of the first strictly decreasing run of the curve
        (its first local minimum), or the last epoch if it never stops
        decreasing; 1 when there is no curve.

    Examples
    --------
    >>> from skwrongevent._classifier import select_base_epoch
    >>> select_base_epoch([90, 40, 30, 35, 20])
    4
    """
    changes = list(prediction_changes)
    for i in range(1, len(changes)):
        if changes[i] >= changes[i - 1]:
            return i + 1
    return len(changes) + 1


def mixture_table(mixtures, max_count):
    """Tabulate ``p_0, p_1, F_0, F_1`` of each class's mixture at every count.

    Counts are integers in ``[0, max_count]``, so a lookup table makes the
    per-batch query exact, vectorised and free of host syncs.

    Returns
    -------
    table : torch.Tensor of shape (n_classes, max_count + 1, 4)
    """
    grid = np.arange(max_count + 1)
    cache = {}
    rows = []
    for mixture in mixtures:
        if id(mixture) not in cache:
            cache[id(mixture)] = np.hstack([mixture.predict_proba(grid), mixture.cdf(grid)])
        rows.append(cache[id(mixture)])
    return torch.as_tensor(np.stack(rows), dtype=torch.float32)


def robust_loss(logits_weak, logits_strong, labels, clean, noisy, clean_cdf, noisy_cdf):
    """IDO's per-row loss over a weak and a strong view, averaged over the batch.

    Parameters
    ----------
    logits_weak, logits_strong : torch.Tensor of shape (batch_size, n_classes)
        Logits of the two views.
    labels : torch.Tensor of shape (batch_size,)
        Given labels (class codes).
    clean, noisy, clean_cdf, noisy_cdf : torch.Tensor of shape (batch_size,)
        Mixture posteriors ``p_0``, ``p_1`` and CDFs ``F_0``, ``F_1`` of
        each row; treated as constants.

    Returns
    -------
    loss : torch.Tensor
        ``mean(clean term + consistency term + noisy term)``.

    Examples
    --------
    >>> import torch
    >>> from skwrongevent._classifier import robust_loss
    >>> z = torch.zeros(2, 3)
    >>> ones, zeros = torch.ones(2), torch.zeros(2)
    >>> round(float(robust_loss(z, z, torch.tensor([0, 1]), ones, zeros, zeros, zeros)), 4)
    2.1972
    """
    clean, noisy, clean_cdf, noisy_cdf = (
        weight.detach() for weight in (clean, noisy, clean_cdf, noisy_cdf)
    )
    cross_entropy = F.cross_entropy(logits_weak, labels, reduction="none") + F.cross_entropy(
        logits_strong, labels, reduction="none"
    )
    consistency_weight = clean * clean_cdf + (1 - noisy) * (1 - noisy_cdf)
    consistency = ((logits_weak - logits_strong) ** 2).mean(dim=1)
    mean_proba = (logits_weak.softmax(dim=1) + logits_strong.softmax(dim=1)) / 2
    mean_proba = mean_proba.clamp(1e-4, 1 - 1e-4)
    confidence = mean_proba.max(dim=1).values
    entropy = -(mean_proba * mean_proba.log()).sum(dim=1)
    per_row = clean * cross_entropy + consistency_weight * consistency
    per_row = per_row + (1 - clean) * confidence * entropy
    return per_row.mean()


def _identity(batch):
    return batch
