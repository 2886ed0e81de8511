"""Two-component beta mixture on wrong-event counts."""

import warnings

import numpy as np
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

EPS = 1e-6
CLEAN, NOISY = 0, 1


class BetaMixture(BaseEstimator):
    """Two-component beta mixture fitted by EM to per-row counts.

    Counts are scaled into ``(0, 1)`` by the minimum and maximum seen at
    fit time. Component 0 ("clean") starts with its mass near 0 and
    component 1 ("noisy") near 1. The M-step is the weighted method of
    moments of the IDO paper, with the clamps that keep the clean
    component decreasing and the noisy one increasing.

    Parameters
    ----------
    max_iter : int, default=20
        Number of EM iterations each call to :meth:`fit` runs.
    warm_start : bool, default=False
        When True and already fitted, :meth:`fit` continues from the
        current parameters instead of the initial ones. Used for the cheap
        refits after each robust-training epoch.

    Attributes
    ----------
    weights_ : ndarray of shape (2,)
        Mixing proportions of the clean and noisy components.
    alphas_ : ndarray of shape (2,)
        First shape parameter of each component.
    betas_ : ndarray of shape (2,)
        Second shape parameter of each component.
    min_count_ : float
        Smallest count seen by the last fit.
    max_count_ : float
        Largest count seen by the last fit.
    degenerate_ : bool
        True when all counts were equal: there is no evidence of noise, so
        every row is clean with probability 1.
    n_iter_ : int
        Total EM iterations run, summed over warm-started fits.

    See Also
    --------
    WrongEventClassifier : fits one mixture per class on its wrong-event
        counts.

    Notes
    -----
    All arithmetic follows ``METHOD.md`` section 2: likelihoods are floored
    at ``1e-6``, posteriors divide by ``sum + 1e-6``, and queries outside
    the fitted range are clipped into ``[1e-6, 1 - 1e-6]``.

    References
    ----------
    .. [1] Zhang et al., "Handling Label Noise via Instance-Level Difficulty
       Modeling and Dynamic Optimization", NeurIPS 2025.

    Examples
    --------
    >>> import numpy as np
    >>> from skwrongevent import BetaMixture
    >>> counts = np.r_[np.zeros(80), np.full(20, 9), [1, 1, 8]]
    >>> mixture = BetaMixture().fit(counts)
    >>> mixture.predict_proba([0, 9]).round(2)
    array([[1., 0.],
           [0., 1.]])
    """

    def __init__(self, max_iter=20, warm_start=False):
        self.max_iter = max_iter
        self.warm_start = warm_start

    def fit(self, counts):
        """Fit the mixture to counts by EM.

        Parameters
        ----------
        counts : array-like of shape (n_rows,)
            Non-negative counts, one per row (wrong events).

        Returns
        -------
        self : BetaMixture
            The fitted mixture.
        """
        if not isinstance(self.max_iter, (int, np.integer)) or self.max_iter < 0:
            raise ValueError(f"max_iter must be a non-negative int, got {self.max_iter!r}.")
        counts = _as_counts(counts)
        self.min_count_ = float(counts.min())
        self.max_count_ = float(counts.max())
        self.degenerate_ = self.max_count_ == self.min_count_
        if not (self.warm_start and hasattr(self, "weights_")):
            self.alphas_ = np.array([1.0, 2.0])
            self.betas_ = np.array([2.0, 1.0])
            self.weights_ = np.array([0.5, 0.5])
            self.n_iter_ = 0
        if self.degenerate_:
            warnings.warn(
                f"All {counts.size} counts equal {self.min_count_:g}: no evidence of label "
                "noise, every row is treated as clean.",
                UserWarning,
                stacklevel=2,
            )
            return self
        x = self._scale(counts)
        for _ in range(self.max_iter):
            self._m_step(x, self._e_step(x))
        self.n_iter_ += self.max_iter
        return self

    def _scale(self, counts):
        x = (counts - self.min_count_) / (self.max_count_ - self.min_count_)
        return np.clip(x * (1 - 2 * EPS) + EPS, EPS, 1 - EPS)

    def _likelihoods(self, x):
        pdf = stats.beta.pdf(x[:, None], self.alphas_, self.betas_)
        return np.maximum(self.weights_ * pdf, EPS)

    def _e_step(self, x):
        likelihoods = self._likelihoods(x)
        return likelihoods / (likelihoods.sum(axis=1, keepdims=True) + EPS)

    def _m_step(self, x, responsibilities):
        for k in (CLEAN, NOISY):
            r = responsibilities[:, k]
            total = r.sum() + EPS
            mean = (r * x).sum() / total
            var = max((r * (x - mean) ** 2).sum() / total, EPS)
            alpha = max(mean * (mean * (1 - mean) / var - 1), EPS)
            beta = max(alpha * (1 - mean) / mean, EPS)
            if k == CLEAN and beta < 1.02:
                beta = 1.1
            if k == NOISY and alpha < 1.02:
                alpha = 1.1
            self.alphas_[k], self.betas_[k] = alpha, beta
        self.weights_ = responsibilities.sum(axis=0) / responsibilities.sum()

    def predict_proba(self, counts):
        """Posterior probability of each component for counts.

        Parameters
        ----------
        counts : array-like of shape (n_rows,)
            Counts to query; values outside the fitted range are clipped.

        Returns
        -------
        proba : ndarray of shape (n_rows, 2)
            Column 0 is the clean posterior, column 1 the noisy one. For a
            degenerate fit the clean posterior is 1 everywhere.
        """
        check_is_fitted(self, "weights_")
        counts = _as_counts(counts)
        if self.degenerate_:
            return np.column_stack([np.ones(counts.size), np.zeros(counts.size)])
        x = self._scale(counts)
        pdf = self.weights_ * stats.beta.pdf(x[:, None], self.alphas_, self.betas_)
        return pdf / (pdf.sum(axis=1, keepdims=True) + EPS)

    def cdf(self, counts):
        """Cumulative distribution function of each component at counts.

        Parameters
        ----------
        counts : array-like of shape (n_rows,)
            Counts to query; values outside the fitted range are clipped.

        Returns
        -------
        cdf : ndarray of shape (n_rows, 2)
            ``F_0`` (clean) and ``F_1`` (noisy) at each count. Column 0 is
            the row's difficulty: 0 for rows never wrong, near 1 for rows
            wrong as often as the hardest clean rows. A degenerate fit gives
            0 everywhere.
        """
        check_is_fitted(self, "weights_")
        counts = _as_counts(counts)
        if self.degenerate_:
            return np.zeros((counts.size, 2))
        return stats.beta.cdf(self._scale(counts)[:, None], self.alphas_, self.betas_)


def _as_counts(counts):
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(f"counts must be a non-empty 1-D array, got shape {counts.shape}.")
    if not np.all(np.isfinite(counts)):
        raise ValueError("counts contain NaN or infinity.")
    return counts
