"""NetClassifier: skorch's NeuralNetClassifier with scikit-learn's manners."""

import copy
import inspect
from contextlib import contextmanager
from numbers import Integral
from types import MappingProxyType

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import _check_sample_weight
from skorch import NeuralNetClassifier
from skorch.dataset import unpack_data
from torch.utils.data import BatchSampler, SequentialSampler, Subset

from ._data import (
    RowRecorder,
    ShuffledBatches,
    check_prediction_data,
    check_training_data,
    collate,
    model_input,
    n_rows,
    on_host,
    row_shape,
    sample_rows,
)
from ._modules import MLP


def first_output(output):
    """A module's main output: the first of several, as skorch's ``predict`` reads it."""
    return output[0] if isinstance(output, tuple) else output


class FitContext:
    """Scratch state of one ``fit``: the rows of the batch in hand, their labels and weights.

    Lives only while ``fit`` runs, as ``net._fit_context``.

    Parameters
    ----------
    X : validated training input
    codes : ndarray of shape (n_rows,)
        Each row's given label as an index into ``classes_``.
    weights : ndarray of shape (n_rows,) or None
        Per-row loss weights with mean 1, or None for equal weights.
    device : str or torch.device
        Where labels and weights live.
    random_state : RandomState
        Draws the rows sampled for input statistics.
    """

    def __init__(self, X, codes, weights, device, random_state):
        self.X = X
        self.codes = torch.as_tensor(codes).to(device, torch.int32)
        self.weights = None if weights is None else torch.as_tensor(weights).float().to(device)
        self.random_state = random_state
        self.recorder = None
        self.row_map = None
        self.rows = None

    def sample(self):
        """A bounded random sample of the training rows and their label codes."""
        return sample_rows(self.X, self.codes.cpu().numpy(), self.random_state)

    def start_step(self):
        """Take the row indices of the training batch about to be stepped on."""
        rows = torch.as_tensor(self.recorder.pop())
        if self.row_map is not None:  # positions in a training subset
            rows = self.row_map[rows]
        self.rows = rows.to(self.codes.device, non_blocking=True)

    def batch_codes(self):
        return self.codes[self.rows].long()

    def batch_weights(self):
        return None if self.weights is None else self.weights[self.rows]


CODE_CHUNK = 2**16
# skorch >= 1.4 routes metadata by the public method that trains (fit or partial_fit).
_ROUTES_BY_METHOD = "_routing_method" in inspect.signature(NeuralNetClassifier.fit_loop).parameters

_UNINITIALIZED = {"history_": None, "initialized_": False, "virtual_params_": MappingProxyType({})}


def _host_copy(value):
    """A deep copy of a state dict with every tensor copied to the host."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: _host_copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(map(_host_copy, value))
    return copy.deepcopy(value)


def _are_indices(y, classes):
    """Whether integer labels can only be positions in ``classes`` of names (strings)."""
    return (
        y.dtype.kind in "iu"
        and classes.dtype.kind in "SU"
        and len(y) > 0
        and 0 <= y.min()
        and y.max() < len(classes)
    )


class NetClassifier(NeuralNetClassifier):
    """skorch's ``NeuralNetClassifier`` with scikit-learn's manners.

    Trains exactly as skorch does (its epoch loop, callbacks, history,
    ``module__*``/``optimizer__*`` routing, checkpoints), and adds what a
    scikit-learn user expects: labels of any type encoded into
    ``classes_`` and decoded by ``predict``; input validated (NaN, shapes,
    one class); ``sample_weight`` and ``class_weight``; ``random_state``
    for reproducible CPU fits; ``device="auto"``; a default network for
    rows of features; training batches shuffled by default; batch losses
    read from the GPU once per epoch; and a clear error when the loss
    stops being finite. A fit that fails leaves the estimator as it was.

    It is the plain-training counterpart of :class:`WrongEventClassifier`,
    which adds the label-noise method on top.

    Parameters
    ----------
    module : torch module class or instance, default=None
        The network; it must return one logit per class. ``None`` builds
        an :class:`MLP` sized from the data, which standardises its inputs.
        A module instance is copied, never trained in place.
    criterion : torch criterion class, default=torch.nn.CrossEntropyLoss
        Loss on logits and label codes.
    optimizer : torch optimizer class, default=torch.optim.AdamW
    lr : float, default=3e-3
    max_epochs : int, default=40
        Epochs to train; 0 initialises the network and sets ``classes_``.
    batch_size : int, default=128
        Rows per batch. Training batches are drawn in a new random order
        every epoch unless ``iterator_train__shuffle=False`` or a
        ``iterator_train__sampler`` or ``iterator_train__batch_sampler``
        is given.
    train_split : None or callable, default=None
        skorch's validation split, such as ``skorch.dataset.ValidSplit(0.2)``
        or ``skorch.helper.predefined_split(valid_dataset)``. None trains
        on every row.
    device : str, torch.device or None, default="auto"
        ``"auto"`` picks CUDA when available, else the CPU; ``get_params``
        still reports ``"auto"``.
    classes : array-like or None, default=None
        All class labels, in the order of the module's outputs; ``None``
        takes the sorted labels found in ``y``. With names (strings) here,
        integer labels in ``y`` are read as positions in this list, as in
        skorch.
    class_weight : dict, "balanced" or None, default=None
        Weights of each class's rows in the loss, as in scikit-learn.
    mixed_precision : bool, default=False
        Run forward passes under ``torch.autocast`` in bfloat16 (losses in
        float32). Faster on recent GPUs.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and dropout inside a fork of
        torch's generators, leaving the global ones untouched.
    verbose : int, default=0
        skorch's verbosity: 1 prints a table per epoch.
    **kwargs
        Any other skorch parameter (``callbacks``, ``dataset``,
        ``iterator_train__*``, ``module__*``, ``optimizer__*``, ...).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features, for array input.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` had string column names.
    input_shape_ : tuple or None
        Shape of one row's input; None for dict input.
    module_, criterion_, optimizer_, history_
        As in skorch.

    See Also
    --------
    WrongEventClassifier : adds robustness to wrong labels.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skwrongevent import NetClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NetClassifier(max_epochs=20, lr=1e-2, random_state=0).fit(X, y)
    >>> float(clf.score(X, y)) > 0.9
    True
    """

    _parameter_constraints = {
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "mixed_precision": ["boolean"],
        "random_state": ["random_state"],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        module=None,
        *,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.AdamW,
        lr=3e-3,
        max_epochs=40,
        batch_size=128,
        train_split=None,
        device="auto",
        classes=None,
        class_weight=None,
        mixed_precision=False,
        random_state=None,
        verbose=0,
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
        self.class_weight = class_weight
        self.mixed_precision = mixed_precision
        self.random_state = random_state
        for name in _UNINITIALIZED:
            if name != "history_" or self.__dict__[name] is None:  # keep a given History
                del self.__dict__[name]
        self.__dict__["_constructed"] = True

    def __getattr__(self, name):
        # skorch's __init__ sets the state in _UNINITIALIZED, and its __setattr__ tells
        # construction apart by that state's absence. Here __init__ stores parameters only,
        # and the state reads as its initial value until initialize() sets it.
        if name in _UNINITIALIZED and self.__dict__.get("_constructed"):
            return _UNINITIALIZED[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # ------------------------------------------------------------------
    # Parameters, device and seeding
    # ------------------------------------------------------------------

    @property
    def device(self):
        """The device torch sees: ``"auto"`` resolved to CUDA when available, else the CPU."""
        requested = self.__dict__.get("device")
        if isinstance(requested, str) and requested == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return requested

    @device.setter
    def device(self, value):
        self.__dict__["device"] = value

    def get_params(self, deep=True, **kwargs):
        params = super().get_params(deep=deep, **kwargs)
        params["device"] = self.__dict__.get("device")  # as given, "auto" included
        return params

    def set_params(self, **params):
        # skorch builds the callbacks whenever ``callbacks`` is set; before initialize() they are
        # only stored, as scikit-learn expects, and built (and validated) when fit starts.
        if not self.initialized_ and not any(key.startswith("callbacks__") for key in params):
            callbacks = params.pop("callbacks", self.__dict__.get("callbacks"))
            super().set_params(**params)
            self.__dict__["callbacks"] = callbacks
            return self
        return super().set_params(**params)

    def _get_param_names(self):
        # skorch lists every attribute without a trailing underscore, which would
        # expose private bookkeeping (``_params_to_validate``) as parameters.
        return [name for name in super()._get_param_names() if not name.startswith("_")]

    def _check_params(self):
        params = self.get_params(deep=False)
        constraints = self._parameter_constraints
        validate_parameter_constraints(
            constraints, {key: params[key] for key in constraints}, type(self).__name__
        )
        requested = params["device"]
        if str(requested).startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(
                f"device={requested!r}, but torch {torch.__version__} sees no CUDA device. Use "
                "device='auto' (CUDA where there is one, else the CPU) or device='cpu'."
            )

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

    def __setstate__(self, state):
        requested = state["device"]
        if requested == "auto":
            state["device"] = "cuda" if torch.cuda.is_available() else "cpu"
        super().__setstate__(state)
        if requested == "auto":
            self.__dict__["device"] = "auto"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True
        return tags

    # ------------------------------------------------------------------
    # Labels
    # ------------------------------------------------------------------

    @property
    def classes_(self):
        if "classes_" in self.__dict__:
            return self.__dict__["classes_"]
        if self.classes is not None:
            return np.asarray(self.classes)
        raise AttributeError(
            f"{type(self).__name__} has no classes_ yet: fit it, or pass classes=."
        )

    @classes_.setter
    def classes_(self, value):
        self.__dict__["classes_"] = value

    def _encode_labels(self, y, classes=None, known=False):
        """Set ``classes_`` (``classes``, else the parameter, else ``y``'s) and return codes.

        ``known``: the classes are those of an earlier ``partial_fit``, and
        ``y`` may hold any of them, even a single one.
        """
        if classes is None:
            classes = self.classes
        if classes is None:
            classes = np.unique(y)
        else:
            classes = np.asarray(classes)
            if classes.size == 0:
                raise ValueError(
                    "classes is empty: pass the labels of every class, or None to take them from y."
                )
            if len(np.unique(classes)) != len(classes):
                raise ValueError(f"classes={classes.tolist()} contains duplicates.")
            if _are_indices(y, classes):  # skorch's convention: y indexes the named classes
                y = classes[y]
            unseen = np.setdiff1d(y, classes)
            if unseen.size:
                raise ValueError(
                    f"y contains labels {unseen.tolist()} that are not in classes="
                    f"{classes.tolist()}."
                )
        if np.unique(y).size < 2 and not known:
            raise ValueError(
                f"y contains one class only ({y[0]!r}): a classifier needs at least two classes."
            )
        self.classes_ = classes
        return self._codes_of(y)

    def _codes_of(self, y):
        """Each label's index in ``classes_`` (which may be in any order)."""
        sorter = np.argsort(self.classes_, kind="stable")
        codes = np.empty(len(y), dtype=np.int32)
        for start in range(0, len(y), CODE_CHUNK):  # bounded temporaries for large y
            chunk = y[start : start + CODE_CHUNK]
            codes[start : start + CODE_CHUNK] = sorter[
                np.searchsorted(self.classes_, chunk, sorter=sorter)
            ]
        return codes

    def _row_weights(self, codes, sample_weight):
        """Per-row loss weights with mean 1, or None when all rows weigh the same."""
        if sample_weight is None and self.class_weight is None:
            return None
        weights = _check_sample_weight(
            sample_weight, codes, dtype=np.float64, ensure_non_negative=True
        )
        if self.class_weight is not None:
            present = np.unique(codes)
            per_class = np.ones(len(self.classes_))
            if self.class_weight == "balanced":
                per_class[present] = compute_class_weight("balanced", classes=present, y=codes)
            else:
                for label, weight in self.class_weight.items():
                    per_class[self._codes_of([label])[0]] = weight
            weights = weights * per_class[codes]
        if weights.sum() <= 0:
            raise ValueError("sample_weight and class_weight give every row weight 0.")
        return weights / weights.mean()

    # ------------------------------------------------------------------
    # Initialisation
    # ------------------------------------------------------------------

    def initialize(self):
        with self._seeded():
            return super().initialize()

    def initialize_module(self):
        if self.module is None:
            self.module_ = self._default_module()
            return self
        super().initialize_module()
        if self.module_ is self.module:  # never train the caller's instance in place
            self.module_ = copy.deepcopy(self.module)
        return self

    def _default_module(self):
        params = self.get_params_for("module")
        shape = self.__dict__.get("input_shape_")
        if "n_features" not in params:
            if shape is None or len(shape) != 1:
                raise ValueError(
                    "module=None builds an MLP for rows of features: fit on a 2-D X first, or "
                    f"pass module__n_features (each input here has shape {shape}); for other "
                    "input, such as images, pass your own module."
                )
            params["n_features"] = shape[0]
        if "n_classes" not in params:
            try:
                params["n_classes"] = len(self.classes_)
            except AttributeError:
                raise ValueError(
                    "module=None builds an MLP with one output per class: pass classes= or "
                    "module__n_classes to initialize before fit."
                ) from None
        module = MLP(**params)
        context = getattr(self, "_fit_context", None)
        if context is not None:
            module.set_input_scaling(context.sample()[0].reshape(-1, params["n_features"]))
        return module

    def check_data(self, X, y):
        pass  # fit has validated X and y; skorch's check would read a dataset whole

    # ------------------------------------------------------------------
    # fit
    # ------------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None, **fit_params):
        """Train the network.

        Parameters
        ----------
        X : array-like, sparse matrix, tensor, dict of arrays or torch Dataset
            Training data: an array or tensor of shape (n_samples, ...),
            such as rows of features or images (n_samples, channels,
            height, width); a scipy sparse matrix; a dict of arrays, passed
            to the module's ``forward`` as keyword arguments; or a torch
            ``Dataset`` of (input, label) pairs or a skorch
            ``SliceDataset``, read batch by batch.
        y : array-like of shape (n_samples,) or None, default=None
            Labels of any type. ``None`` only for a ``Dataset``, whose
            ``targets`` or ``y`` attribute or items' labels are then used.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weight of each row's loss (rescaled to mean 1).
        **fit_params : dict
            Passed to the module's ``forward``, as in skorch.

        Returns
        -------
        self
            The fitted classifier.
        """
        return self._train(X, y, sample_weight, fit_params, partial=False)

    def partial_fit(self, X, y=None, classes=None, sample_weight=None, **fit_params):
        """Train on ``(X, y)`` for ``max_epochs`` from the current weights, as in skorch.

        The first call initialises the network; later calls keep its
        weights, optimizer state, history and ``classes_``, and ``X`` must
        have the features it was fitted on. Unlike :meth:`fit` with
        ``warm_start=True``, labels are encoded with the ``classes_`` of
        earlier fits.

        Parameters
        ----------
        X, y, sample_weight, **fit_params
            As in :meth:`fit`.
        classes : array-like or None, default=None
            All class labels, for the first call (as in scikit-learn's
            ``partial_fit``); later calls keep ``classes_``.

        Returns
        -------
        self
            The classifier, trained further.
        """
        return self._train(X, y, sample_weight, fit_params, partial=True, classes=classes)

    def _train(self, X, y, sample_weight, fit_params, partial, classes=None):
        """``fit`` and ``partial_fit``: validate, encode, train; on failure leave self as it was."""
        self._check_params()
        self.check_training_readiness()  # skorch's error for a net trimmed for prediction
        before = dict(self.__dict__)
        trained = self._trained_state() if self.initialized_ else None
        keep = partial and self.initialized_
        try:
            X, labels = check_training_data(self, X, y, reset=not keep)
            known = keep and "classes_" in self.__dict__
            codes = self._encode_labels(labels, self.classes_ if known else classes, known)
            shape = row_shape(X)
            if keep and self.__dict__.get("input_shape_") not in (None, shape):
                raise ValueError(
                    f"X has rows of shape {shape}, but the classifier was trained on rows of "
                    f"shape {self.input_shape_}."
                )
            self.input_shape_ = shape
            with self._seeded():
                self._fit_context = self._make_fit_context(
                    X, codes, self._row_weights(codes, sample_weight)
                )
                if not self.initialized_ or not (partial or self.warm_start):
                    self.initialize()
                X = self._fit_context.X = model_input(self, X)
                self.notify("on_train_begin", X=X, y=labels)
                try:
                    if self.max_epochs:
                        if partial and _ROUTES_BY_METHOD:
                            fit_params = {**fit_params, "_routing_method": "partial_fit"}
                        self.fit_loop(X, labels, **fit_params)
                except KeyboardInterrupt:
                    pass  # as in skorch: Ctrl-C or a callback stopped training
                self._finish_fit()
                self.notify("on_train_end", X=X, y=labels)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            if trained is not None:
                self._restore_trained_state(trained)
            raise
        finally:
            self.__dict__.pop("_fit_context", None)
        return self

    def _trained_state(self):
        """A copy, on the host, of what training changes in place: weights, optimizer, history.

        skorch trains the same module, criterion and optimizer objects on
        ``partial_fit``, on ``warm_start`` and when the module was passed
        as an instance, and clears the same ``History`` on ``initialize``.
        """
        components = {
            name: _host_copy(getattr(self, name + "_").state_dict())
            for name in (*self._modules, *self._criteria)
        }
        optimizers = {
            name: _host_copy(getattr(self, name + "_").state_dict()) for name in self._optimizers
        }
        return components, optimizers, copy.deepcopy(list(self.history_))

    def _restore_trained_state(self, trained):
        components, optimizers, history = trained
        self._load_component_states(components)
        for name, state in optimizers.items():
            getattr(self, name + "_").load_state_dict(state)
        self.history_[:] = history

    def _make_fit_context(self, X, codes, weights, context_class=FitContext):
        """The per-fit scratch state; subclasses pass a richer ``context_class``."""
        seed = check_random_state(self.random_state).randint(2**31 - 1)
        return context_class(
            X, codes, weights, self._training_device(), np.random.RandomState(seed)
        )

    def _training_device(self):
        """Where training batches, labels and per-row state live."""
        return self.device

    def _finish_fit(self):
        """Hook run after training, also when a callback or Ctrl-C stopped it."""

    def get_split_datasets(self, X, y=None, **fit_params):
        dataset_train, dataset_valid = super().get_split_datasets(X, y, **fit_params)
        if len(dataset_train) != n_rows(X):
            if not isinstance(dataset_train, Subset):
                raise ValueError(
                    f"train_split kept {len(dataset_train)} of {n_rows(X)} rows for training "
                    "in a dataset that does not say which: return a torch Subset (as "
                    "skorch's ValidSplit does) or keep every row."
                )
            self._fit_context.row_map = torch.as_tensor(dataset_train.indices)
        return dataset_train, dataset_valid

    def get_params_for(self, prefix):
        params = super().get_params_for(prefix)
        if prefix == "iterator_train" and not {"sampler", "batch_sampler"} & params.keys():
            params.setdefault("shuffle", True)  # skorch's default is False
        if prefix in ("iterator_train", "iterator_valid"):
            params.setdefault("collate_fn", collate)
            if str(self.device).startswith("cuda"):
                params.setdefault("pin_memory", True)
        return params

    def get_iterator(self, dataset, training=False):
        """skorch's iterator; during ``fit`` the training one also records each batch's rows."""
        context = getattr(self, "_fit_context", None)
        if not training or context is None:
            return super().get_iterator(dataset, training=training)
        kwargs = self.get_params_for("iterator_train")
        batch_sampler = self._training_batch_sampler(dataset, kwargs)
        context.recorder = RowRecorder(batch_sampler)
        return self.iterator_train(dataset, batch_sampler=context.recorder, **kwargs)

    def _training_batch_sampler(self, dataset, kwargs):
        """The training loader's batch sampler; pops what it uses from the loader's ``kwargs``."""
        batch_size = kwargs.pop("batch_size", self.batch_size)
        batch_sampler = kwargs.pop("batch_sampler", None)
        if batch_sampler is not None:
            return batch_sampler
        sampler = kwargs.pop("sampler", None)
        shuffle = kwargs.pop("shuffle", False)
        drop_last = kwargs.pop("drop_last", False)
        if batch_size == -1:
            batch_size = len(dataset)
        if sampler is None and shuffle:
            return ShuffledBatches(len(dataset), batch_size, drop_last)
        return BatchSampler(sampler or SequentialSampler(dataset), batch_size, drop_last)

    # ------------------------------------------------------------------
    # Steps
    # ------------------------------------------------------------------

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, _ = unpack_data(batch)
        y_pred = self.infer(Xi, **fit_params)
        self._check_output(y_pred)
        loss = self.get_loss(y_pred, self._fit_context.batch_codes(), X=Xi, training=True)
        self._backward(loss)
        return {"loss": loss, "y_pred": y_pred}

    def _component_states(self):
        """A copy of the weights of every module and criterion skorch knows of."""
        return {
            name: {
                key: tensor.detach().clone()
                for key, tensor in getattr(self, name + "_").state_dict().items()
            }
            for name in (*self._modules, *self._criteria)
        }

    def _load_component_states(self, states):
        for name, state in states.items():
            getattr(self, name + "_").load_state_dict(state)

    def _predict_dataset(self, dataset, forward_params, code_type):
        """The network's prediction of each row of a dataset, as class codes in ``code_type``.

        One pass in evaluation mode, as ``predict`` would answer, keeping
        only the codes.
        """
        self._set_training(False)
        predicted = np.empty(len(dataset), dtype=code_type)
        start = 0
        with torch.no_grad():
            for batch in self.get_iterator(dataset, training=False):
                logits = first_output(self.infer(unpack_data(batch)[0], **forward_params))
                codes = self._gather(logits.argmax(dim=1)).cpu().numpy()
                predicted[start : start + len(codes)] = codes
                start += len(codes)
        return predicted

    def _gather(self, tensor):
        """A batch's per-row results from every process (one process: the tensor itself)."""
        return tensor

    def _logits(self, output):
        """The module's output as logits for the robust loss and the label margins.

        With ``NLLLoss`` the module returns probabilities, as in skorch's
        examples, and their logarithms are logits (skorch's ``get_loss``
        takes the same logarithm); otherwise it returns logits.
        """
        if self._returns_probabilities():
            return torch.log(output + torch.finfo(output.dtype).eps)
        return output

    def _criterion_row_weights(self, codes):
        """Each batch row's weight in a loss that replaces the criterion, or None for equal weights.

        The rows' sample and class weights, times the criterion's own class
        weights (``criterion__weight`` of a cross-entropy or NLL loss):
        rescaled to mean 1 in the batch, as the weighted criterion averages.
        """
        weights = self._fit_context.batch_weights()
        criterion = getattr(self, "criterion_", None)
        if isinstance(criterion, (torch.nn.CrossEntropyLoss, torch.nn.NLLLoss)):
            if criterion.weight is not None:
                by_class = criterion.weight.to(codes.device)[codes]
                by_class = by_class / by_class.mean()
                weights = by_class if weights is None else weights * by_class
        return weights

    def _backward(self, loss):
        loss.backward()

    def _returns_probabilities(self):
        """Whether the module returns probabilities: skorch's convention with ``NLLLoss``.

        A criterion registered under another name than ``criterion_`` comes
        with its own ``get_loss``, and the module is taken to return logits.
        """
        return isinstance(getattr(self, "criterion_", None), torch.nn.NLLLoss)

    def _check_output(self, y_pred):
        y_pred = first_output(y_pred)
        n_classes = len(self.classes_)
        if y_pred.ndim != 2 or y_pred.shape[1] != n_classes:
            raise ValueError(
                f"The module returned output of shape {tuple(y_pred.shape)}, but there are "
                f"{n_classes} classes: it must return logits of shape (batch_size, {n_classes})."
            )

    def validation_step(self, batch, **fit_params):
        Xi, yi = unpack_data(batch)
        return super().validation_step((Xi, self._batch_codes(yi)), **fit_params)

    def _batch_codes(self, y):
        """A batch's labels as codes (a tensor is kept when the classes are 0, 1, ...)."""
        classes = self.classes_
        if isinstance(y, torch.Tensor) and np.array_equal(classes, np.arange(len(classes))):
            return y.long()
        return torch.as_tensor(self._codes_of(np.asarray(on_host(y)))).long()

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """skorch's loss; in training, the weighted mean when rows have weights.

        A module that returns several outputs is scored on the first, the
        one ``predict`` reads; override to use the others.
        """
        y_pred = first_output(y_pred)
        context = getattr(self, "_fit_context", None)
        weights = context.batch_weights() if training and context is not None else None
        if weights is None:
            return super().get_loss(y_pred, y_true, X=X, training=training)
        criterion = self.criterion_
        if getattr(criterion, "reduction", None) != "mean":
            raise ValueError(
                "sample_weight and class_weight need a criterion with reduction='mean' (such "
                f"as torch.nn.CrossEntropyLoss), got {type(criterion).__name__}."
            )
        criterion.reduction = "none"
        try:
            per_row = super().get_loss(y_pred, y_true, X=X, training=training)
        finally:
            criterion.reduction = "mean"
        return (per_row * weights).mean()

    def infer(self, x, **fit_params):
        """The module's output for a batch, in float32 (see ``mixed_precision``)."""
        if not self.mixed_precision:
            return super().infer(x, **fit_params)
        with torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16):
            return super().infer(x, **fit_params).float()

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's epoch loop, reading the batch losses back once per epoch.

        skorch reads each batch's loss with ``.item()``, which waits for the
        GPU after every batch. Here the history holds the loss tensors until
        the epoch ends and then gets plain floats, so callbacks that run
        after the epoch see the usual history.

        Raises
        ------
        FloatingPointError
            When a training loss is NaN or infinite.
        """
        if iterator is None:
            return
        records, losses = [], []
        for batch in iterator:
            if training:  # here rather than in train_step, which users override (skorch's FAQ)
                self._fit_context.start_step()
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            losses.append(step["loss"].detach().float())
            self.history.record_batch(prefix + "_loss", losses[-1])
            self.history.record_batch(prefix + "_batch_size", n_rows(unpack_data(batch)[0]))
            records.append(self.history[-1]["batches"][-1])
            self.notify("on_batch_end", batch=batch, training=training, **step)
        values = torch.stack(losses).tolist() if losses else []
        for record, loss in zip(records, values, strict=True):
            record[prefix + "_loss"] = loss
        self.history.record(prefix + "_batch_count", len(records))
        if training and not np.all(np.isfinite(values)):
            if self._returns_probabilities():
                hint = (
                    "With NLLLoss the module must return probabilities (their logarithm is "
                    "taken, as in skorch); a module that returns logits or log-probabilities "
                    "needs criterion=torch.nn.CrossEntropyLoss, the default."
                )
            else:
                hint = (
                    "Lower lr, check the inputs for extreme values, or check that the module "
                    "returns finite logits."
                )
            raise FloatingPointError(
                f"The training loss became {values[np.argmin(np.isfinite(values))]} in epoch "
                f"{len(self.history)}: training diverged. {hint}"
            )

    # ------------------------------------------------------------------
    # Prediction
    # ------------------------------------------------------------------

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like, sparse matrix, tensor, dict of arrays or torch Dataset
            Input rows, in a form ``fit`` accepts (a ``Dataset``'s labels
            are ignored).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Softmax of the network's logits, columns ordered as ``classes_``.
        """
        self.check_is_fitted()
        return super().predict_proba(check_prediction_data(self, X))

    def trim_for_prediction(self):
        """skorch's ``trim_for_prediction``: drop what only training needs.

        skorch removes the criterion, from which ``predict_nonlinearity="auto"``
        reads the nonlinearity to apply, so the one it gives is kept first:
        ``predict_proba`` stays a softmax. A trimmed net refuses ``fit``.
        """
        if self.predict_nonlinearity == "auto" and not getattr(
            self, "_trimmed_for_prediction", False
        ):
            self.check_is_fitted()
            self.predict_nonlinearity = self._get_predict_nonlinearity()
        super().trim_for_prediction()

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like, sparse matrix, tensor, dict of arrays or torch Dataset
            Input rows, in a form ``fit`` accepts.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``; column indices for an initialized
            network that was given no ``classes`` (as in skorch).
        """
        codes = self.predict_proba(X).argmax(axis=1)
        try:
            return self.classes_[codes]
        except AttributeError:
            return codes
