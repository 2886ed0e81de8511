"""The input forms the classifier accepts: arrays, dicts of arrays and torch datasets."""

from collections.abc import Mapping

import numpy as np
import torch
from scipy import sparse
from skorch.helper import SliceDataset

# Rows of a dataset read to fit views that need statistics (TabularViews).
SAMPLE_ROWS = 1024


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


def dataset_inputs(X):
    """An indexable whose item ``i`` is the input of row ``i`` of a dataset."""
    if isinstance(X, SliceDataset):
        return X  # already yields the inputs alone
    return _FirstItems(X)


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
        return np.asarray([np.asarray(on_host(X[i][1])) for i in range(len(X))])
    except (TypeError, IndexError) as error:
        raise ValueError(
            "y is None and the dataset has no labels: pass y, or use a dataset whose items "
            "are (input, label) pairs."
        ) from error


def validate_dict(X):
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


def row_shape(inputs):
    """Shape of one row's input, or None for dict inputs."""
    if isinstance(inputs, _DictRows):
        return None
    if isinstance(inputs, np.ndarray):
        return inputs.shape[1:]
    return tuple(np.shape(on_host(inputs[0])))


def sample_rows(inputs):
    """Up to ``SAMPLE_ROWS`` rows as one array (a dict of arrays for dict input), to fit views."""
    if isinstance(inputs, np.ndarray):
        return inputs
    if isinstance(inputs, _DictRows):
        return inputs.arrays
    count = min(len(inputs), SAMPLE_ROWS)
    return np.stack([np.asarray(on_host(inputs[i]), dtype=np.float32) for i in range(count)])


def to_device(batch, device):
    """Move a batch (tensor, array or dict of them) to ``device`` without blocking."""
    if isinstance(batch, Mapping):
        return {key: to_device(value, device) for key, value in batch.items()}
    return torch.as_tensor(batch).to(device, non_blocking=True)


def concat(first, second):
    """Stack two batches (tensors or dicts of tensors) along the rows."""
    if isinstance(first, Mapping):
        return {key: torch.cat([first[key], second[key]]) for key in first}
    return torch.cat([first, second])


class _FirstItems:
    """Item ``i`` of a dataset of (input, label) pairs without its label."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        item = self.dataset[index]
        return item[0] if isinstance(item, (tuple, list)) else item


class _DictRows:
    """Row ``i`` of a dict of arrays as a dict."""

    def __init__(self, arrays):
        self.arrays = arrays

    def __len__(self):
        return len(next(iter(self.arrays.values())))

    def __getitem__(self, index):
        return {key: value[index] for key, value in self.arrays.items()}


class Rows(torch.utils.data.Dataset):
    """Each training row as (input, label code, position), so counts go to the right row."""

    def __init__(self, inputs, codes):
        self.inputs = inputs
        self.codes = codes

    def __len__(self):
        return len(self.codes)

    def __getitem__(self, index):
        return self.inputs[index], self.codes[index], index


def dict_rows(X):
    """Validated dict input as an indexable of per-row dicts."""
    return _DictRows(validate_dict(X))
