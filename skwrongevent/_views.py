"""Weak and strong views (augmentations) of a batch, on the batch's device."""

import numbers

import numpy as np
import torch


class TabularViews:
    """Weak and strong views of tabular rows.

    The weak view adds small Gaussian noise scaled by each feature's spread.
    The strong view adds larger noise and replaces a random fraction of each
    row's features with the same features of other rows in the batch
    (SCARF-style corruption). Both run batched on the batch's device and
    draw from torch's global generator, which the classifier seeds from its
    ``random_state``.

    Parameters
    ----------
    weak_noise : float, default=0.1
        Standard deviation of the weak view's noise, in units of each
        feature's standard deviation.
    strong_noise : float, default=0.3
        Standard deviation of the strong view's noise, in the same units.
    corruption : float in [0, 1], default=0.25
        Fraction of a row's features the strong view replaces with values
        from other rows.

    Attributes
    ----------
    scale_ : torch.Tensor of shape (n_features,)
        Per-feature standard deviation of the data passed to :meth:`fit`
        (1 where a feature is constant).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skwrongevent import TabularViews
    >>> X = np.random.default_rng(0).normal(size=(50, 4)).astype("float32")
    >>> views = TabularViews().fit(X)
    >>> views.strong(torch.from_numpy(X)).shape
    torch.Size([50, 4])
    """

    def __init__(self, weak_noise=0.1, strong_noise=0.3, corruption=0.25):
        self.weak_noise = weak_noise
        self.strong_noise = strong_noise
        self.corruption = corruption

    def __repr__(self):
        return (
            f"TabularViews(weak_noise={self.weak_noise}, strong_noise={self.strong_noise}, "
            f"corruption={self.corruption})"
        )

    def fit(self, X):
        """Measure each feature's spread on the training rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.

        Returns
        -------
        self : TabularViews
            The fitted views.
        """
        for name in ("weak_noise", "strong_noise", "corruption"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or value < 0:
                raise ValueError(f"{name} must be a non-negative float, got {value!r}.")
        if self.corruption > 1:
            raise ValueError(f"corruption must be in [0, 1], got {self.corruption!r}.")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"TabularViews needs 2-D input, got shape {X.shape}.")
        scale = X.std(axis=0)
        self.scale_ = torch.as_tensor(np.where(scale > 0, scale, 1.0), dtype=torch.float32)
        return self

    def _noise(self, batch, size):
        if self.scale_.device != batch.device:
            self.scale_ = self.scale_.to(batch.device)
        return batch + torch.randn_like(batch) * (size * self.scale_)

    def weak(self, batch):
        """Weak view: ``batch`` plus small per-feature Gaussian noise.

        Parameters
        ----------
        batch : torch.Tensor of shape (batch_size, n_features)
            Rows to perturb; not modified.

        Returns
        -------
        view : torch.Tensor of shape (batch_size, n_features)
            The weak view.
        """
        return self._noise(batch, self.weak_noise)

    def strong(self, batch):
        """Strong view: larger noise plus features swapped in from other rows.

        Parameters
        ----------
        batch : torch.Tensor of shape (batch_size, n_features)
            Rows to perturb; not modified.

        Returns
        -------
        view : torch.Tensor of shape (batch_size, n_features)
            The strong view.
        """
        noisy = self._noise(batch, self.strong_noise)
        replace = torch.rand(batch.shape, device=batch.device) < self.corruption
        donors = torch.randint(0, batch.shape[0], batch.shape, device=batch.device)
        return torch.where(replace, batch.gather(0, donors), noisy)
