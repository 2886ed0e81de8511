"""The one place that turns every accepted form of ``X`` into what skorch trains on.

Accepted: arrays and tensors of any rank, scipy sparse matrices, pandas
frames, dicts of arrays (passed to ``forward`` as keyword arguments), torch
``Dataset``s and skorch ``SliceDataset``s. Training and prediction go
through the same checks.
"""

from collections import deque
from collections.abc import Mapping

import numpy as np
import torch
from scipy import sparse
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d, validate_data
from skorch.dataset import unpack_data
from skorch.helper import SliceDataset

# Rows read to fit what needs statistics of the inputs (views, input scaling):
# a bounded sample, so nothing copies a large training set.
SAMPLE_ROWS = 2048
# Signed integers are kept through validation, since they may be token ids (see
# model_input); anything else that is not float32 becomes float32.
_KEPT_DTYPES = [np.float32, np.int64, np.int32, np.int16, np.int8]


def is_dataset(X):
    """Whether ``X`` is read item by item: a torch ``Dataset`` or a ``SliceDataset``."""
    return isinstance(X, (torch.utils.data.Dataset, SliceDataset))


def is_dict(X):
    """Whether ``X`` is a dict of arrays (a DOK sparse matrix is a dict too, but not one)."""
    return isinstance(X, Mapping) and not sparse.issparse(X)


def on_host(X):
    """A tensor as a NumPy array (copied from the GPU if need be); anything else as it is."""
    if isinstance(X, torch.Tensor):
        return X.detach().cpu().numpy()
    return X


def check_training_data(estimator, X, y, reset=True):
    """Validate training data; ``reset=False`` checks features against an earlier fit.

    Returns
    -------
    X : ndarray, sparse matrix, dict of ndarrays or Dataset
        What skorch's ``get_dataset`` takes; float arrays become float32,
        signed integer arrays are kept for :func:`model_input`.
    y : ndarray of shape (n_rows,)
        The labels as given (any type).
    """
    if is_dataset(X):
        y = dataset_labels(X, y)
        if reset:
            _forget_feature_info(estimator)
    elif y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None."
        )
    elif is_dict(X):
        X = check_dict(X)
        if reset:
            _forget_feature_info(estimator)
    else:
        _refuse_list_of_inputs(X, y)
        _refuse_text_columns(X)
        X, y = validate_data(
            estimator,
            on_host(X),
            on_host(y),
            accept_sparse="csr",
            dtype=_KEPT_DTYPES,
            allow_nd=True,
            reset=reset,
        )
        X = _readable_by_rows(X)
    y = column_or_1d(on_host(y), warn=True)
    if len(y) != n_rows(X):
        raise ValueError(f"X has {n_rows(X)} rows but y has {len(y)} labels.")
    _check_label_values(y)
    check_classification_targets(y)
    return X, y


def _check_label_values(y):
    """Labels of object dtype must all be present and of one type, with an error that says which."""
    if y.dtype != object:
        return
    missing = [i for i, label in enumerate(y) if label is None or label != label]  # NaN != NaN
    if missing:
        raise ValueError(
            f"y has {len(missing)} missing labels (None or NaN), first at row {missing[0]}: "
            "drop those rows, or give them a label."
        )
    kinds = {type(label).__name__ for label in y}
    if len(kinds) > 1:
        raise ValueError(
            f"y mixes labels of types {sorted(kinds)}, so 1 and '1' would be different classes: "
            "convert them to one type first, for example y.astype(str)."
        )


def _refuse_text_columns(X):
    """A data frame's text or categorical columns, named, rather than a failed float conversion."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "columns"):
        return
    text = {
        str(column): str(dtype)
        for column, dtype in zip(X.columns, dtypes, strict=True)
        if getattr(dtype, "kind", "O") not in "biuf"
    }
    if text:
        raise ValueError(
            f"X has columns that are not numbers: {text}. The network takes numbers: encode "
            "them first, for example with a ColumnTransformer and a OneHotEncoder in a "
            "Pipeline, or use the command line (skwrongevent find-issues), which encodes "
            "them itself."
        )


def _refuse_list_of_inputs(X, y):
    """A list of arrays with a row per label is several inputs (skorch), not rows (scikit-learn)."""
    if not isinstance(X, (list, tuple)) or len(X) == len(y):
        return
    if X and all(getattr(part, "ndim", 0) >= 1 and len(part) == len(y) for part in X):
        raise ValueError(
            f"X is a list of {len(X)} arrays of {len(y)} rows each, which scikit-learn reads "
            "as rows. Pass several inputs as a dict of arrays; each reaches the module's "
            "forward as the keyword argument of its name."
        )


def check_prediction_data(estimator, X):
    """Validate prediction input against what the estimator was fitted on."""
    if is_dataset(X):
        return X
    if is_dict(X):
        return check_dict(X)
    X = on_host(X)
    _refuse_text_columns(X)
    # Compare the number of axes before validate_data, which only looks at the second axis.
    shape = getattr(estimator, "input_shape_", None)
    dimensions = getattr(X, "ndim", 0)
    if shape and dimensions > 1 and dimensions != len(shape) + 1:
        raise ValueError(
            f"X has rows of shape {X.shape[1:]}, but the classifier was fitted on rows "
            f"of shape {shape}."
        )
    X = validate_data(
        estimator, X, accept_sparse="csr", dtype=_KEPT_DTYPES, allow_nd=True, reset=False
    )
    return model_input(estimator, _readable_by_rows(X))


def model_input(estimator, X):
    """``X`` as the fitted module takes it: integer arrays stay token ids only for embeddings.

    An array of signed integers reaches a module with an ``Embedding`` or
    ``EmbeddingBag`` layer as is, since such a module looks rows up by
    index; any other module gets it as float32 features. Sparse matrices
    (counts, such as a bag of words) are always float32.
    """
    if sparse.issparse(X) and X.dtype != np.float32:
        return X.astype(np.float32)
    if not (isinstance(X, np.ndarray) and X.dtype.kind == "i"):
        return X
    module = getattr(estimator, "module_", None)
    lookups = (torch.nn.Embedding, torch.nn.EmbeddingBag)
    if isinstance(module, torch.nn.Module) and any(
        isinstance(layer, lookups) for layer in module.modules()
    ):
        return X
    return X.astype(np.float32)


def _readable_by_rows(X):
    # skorch's Dataset densifies one row at a time, which needs a sparse matrix (a row
    # of a sparse array is 1-D). torch cannot wrap read-only memory (a data frame's values
    # under copy-on-write), so such an array is copied once here rather than per batch.
    if sparse.issparse(X):
        return sparse.csr_matrix(X)
    return X.copy() if isinstance(X, np.ndarray) and not X.flags.writeable else X


def _forget_feature_info(estimator):
    for name in ("n_features_in_", "feature_names_in_"):
        estimator.__dict__.pop(name, None)


def check_dict(X):
    """Check a dict of arrays (skorch passes it to ``forward`` as keyword arguments).

    Floating-point arrays become float32 and must be finite; other dtypes
    (token ids, masks) are kept.
    """
    if not X:
        raise ValueError("X is an empty dict.")
    checked = {}
    for key, value in X.items():
        value = np.asarray(on_host(value))
        if value.ndim == 0:
            raise ValueError(f"X[{key!r}] is a scalar; every value must have one row per sample.")
        if np.issubdtype(value.dtype, np.floating):
            value = value.astype(np.float32)
            if not np.isfinite(value).all():
                raise ValueError(f"X[{key!r}] contains NaN or infinity.")
        checked[key] = value
    lengths = {key: len(value) for key, value in checked.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"The arrays in X have different numbers of rows: {lengths}.")
    return checked


def dataset_labels(X, y):
    """The labels of a dataset's rows: ``y`` when given, else read from ``X``.

    A dataset's labels are its ``targets`` (the torchvision convention) or
    ``y`` attribute when it has one; otherwise each item is read once and
    its second element taken.
    """
    if y is not None:
        return np.asarray(on_host(y))
    if isinstance(X, SliceDataset):
        raise ValueError(
            "y is None, but a SliceDataset yields the inputs only: pass the labels as y, "
            "for example SliceDataset(dataset, idx=1)."
        )
    for name in ("targets", "y"):
        labels = getattr(X, name, None)
        if labels is not None:
            return np.asarray(on_host(labels))
    try:
        return np.asarray([np.asarray(on_host(_item_label(X[i]))) for i in range(len(X))])
    except (TypeError, IndexError) as error:
        raise ValueError(
            "y is None and the dataset has no labels: pass y, or use a dataset whose items "
            "are (input, label) pairs."
        ) from error


def _item_label(item):
    """An item's label; skorch's error for items that are not (input, label) pairs."""
    return unpack_data(item if isinstance(item, (tuple, list)) else (item,))[1]


def n_rows(X):
    """Number of rows of validated input."""
    if is_dict(X):
        return len(next(iter(X.values())))
    return X.shape[0] if hasattr(X, "shape") else len(X)


def row_shape(X):
    """Shape of one row's input, or None for dict input."""
    if is_dict(X):
        return None
    if is_dataset(X):  # a SliceDataset has a shape too: (n_rows,)
        return tuple(np.shape(on_host(_item_input(X, 0))))
    return tuple(X.shape[1:])


def _item_input(dataset, index):
    if isinstance(dataset, SliceDataset):
        return dataset[index]
    item = dataset[index]
    return item[0] if isinstance(item, (tuple, list)) else item


def sample_rows(X, labels, random_state):
    """A random sample of at most ``SAMPLE_ROWS`` rows and their labels, as dense arrays.

    Dict input gives a dict of arrays. Used to fit views and input scaling
    without copying the whole training set.
    """
    count = n_rows(X)
    rows = np.sort(random_state.permutation(count)[:SAMPLE_ROWS])
    if is_dict(X):
        return {key: value[rows] for key, value in X.items()}, labels[rows]
    if sparse.issparse(X):
        return X[rows].toarray(), labels[rows]
    if is_dataset(X):
        inputs = [np.asarray(on_host(_item_input(X, i)), dtype=np.float32) for i in rows]
        return np.stack(inputs), labels[rows]
    return np.asarray(X[rows], dtype=np.float32), labels[rows]


class ShuffledBatches:
    """Batches of a new random permutation of the rows every epoch.

    The same batches as torch's ``BatchSampler(RandomSampler(dataset))``,
    drawn from the same random state, but the permutation stays one tensor
    (4 bytes per row) instead of a list of Python integers (about 36), and
    each batch becomes a list only when it is asked for.

    Parameters
    ----------
    n_rows, batch_size : int
    drop_last : bool
        Whether to drop the last batch when it is smaller than ``batch_size``.
    """

    def __init__(self, n_rows, batch_size, drop_last):
        self.n_rows, self.batch_size, self.drop_last = n_rows, batch_size, drop_last

    def __iter__(self):
        seed = int(torch.empty((), dtype=torch.int64).random_().item())  # as RandomSampler
        dtype = torch.int32 if self.n_rows <= torch.iinfo(torch.int32).max else torch.int64
        generator = torch.Generator().manual_seed(seed)
        order = torch.randperm(self.n_rows, dtype=dtype, generator=generator)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield order[start : start + self.batch_size].tolist()

    def __len__(self):
        if self.drop_last:
            return self.n_rows // self.batch_size
        return -(-self.n_rows // self.batch_size)


class RowRecorder:
    """A batch sampler that remembers which rows each batch holds.

    Wraps the batch sampler of the training ``DataLoader``. The loader asks
    it for index lists in the main process, also when worker processes load
    the items, and hands out batches in the same order, so the first list
    not yet consumed always belongs to the next batch. This lets training
    steps know each row's identity while batches stay ``(X, y)``.

    Parameters
    ----------
    batch_sampler : iterable of lists of int
        The batch sampler to wrap.
    """

    def __init__(self, batch_sampler):
        self.batch_sampler = batch_sampler
        self.pending = deque()

    def __iter__(self):
        self.pending.clear()  # a new epoch: batches of an abandoned one are gone
        for indices in self.batch_sampler:
            self.pending.append(indices)
            yield indices

    def __len__(self):
        return len(self.batch_sampler)

    def pop(self):
        """Row indices of the next batch to be trained on."""
        return self.pending.popleft()


def collate(items):
    """torch's default collate, with labels that are not numbers kept as a NumPy array.

    torch collates string labels into a tuple, which skorch's scoring cannot read.
    """
    batch = torch.utils.data.default_collate(items)
    if isinstance(batch, list) and len(batch) == 2 and isinstance(batch[1], (tuple, list)):
        batch[1] = np.asarray(batch[1])
    return batch


def to_device(batch, device):
    """Move a batch (tensor, array or dict of them) to ``device`` without blocking."""
    if isinstance(batch, Mapping):
        return {key: to_device(value, device) for key, value in batch.items()}
    return torch.as_tensor(batch).to(device, non_blocking=True)
