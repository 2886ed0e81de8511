"""The beta mixture on wrong-event counts."""

import warnings

import numpy as np
from scipy import special
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ._verdict import WrongEventWarning

EPS = 1e-6
CLEAN, NOISY = 0, 1
MIN_CLASS_ROWS = 10
REFIT_ITERATIONS = {"global": 1, "per_class": 2}
# Rows per step of the per-row passes: their temporaries stay bounded for any number of rows.
CHUNK = 2**16


class BetaMixture(BaseEstimator):
    """Two-component beta mixture fitted by EM to per-row counts.

    Counts are scaled into ``(0, 1)`` by the minimum and maximum seen at
    fit time. Component 0 ("clean") starts with its mass near 0 and
    component 1 ("noisy") near 1. The M-step is the weighted method of
    moments of the IDO paper, with its clamps that keep the clean density
    decreasing at 1 and the noisy one increasing at 0.

    Two guarantees hold for any histogram, where the paper's EM has none:

    - **Ordered components**: after every M-step the clean component takes
      the smaller ``alpha`` and the larger ``beta`` of the two. Their
      likelihood ratio is then monotone, so the clean posterior never rises
      with the count: a row is never judged noisier than a row with more
      wrong events. On well-separated histograms this never binds.
    - **Posteriors sum to 1**: they are normalised in log space, so they stay
      exact where both densities underflow.

    EM runs on the distinct counts weighted by how often each occurs, so a
    fit costs the same for a thousand rows or a million.

    Parameters
    ----------
    max_iter : int, default=20
        Number of EM iterations each call to :meth:`fit` runs.
    warm_start : bool, default=False
        When True and already fitted, :meth:`fit` continues from the
        current parameters instead of the initial ones.

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
    WrongEventClassifier : fits the mixture to its wrong-event counts.

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
        values, multiplicity = _distinct_counts(counts)
        self.min_count_ = float(values[0])
        self.max_count_ = float(values[-1])
        self.degenerate_ = values.size == 1
        if not (self.warm_start and hasattr(self, "weights_")):
            self.alphas_ = np.array([1.0, 2.0])
            self.betas_ = np.array([2.0, 1.0])
            self.weights_ = np.array([0.5, 0.5])
            self.n_iter_ = 0
        if self.degenerate_:
            warnings.warn(
                f"All {multiplicity[0]} counts equal {self.min_count_:g}: no evidence of label "
                "noise, every row is treated as clean.",
                WrongEventWarning,
                stacklevel=2,
            )
            return self
        x = self._scale(values)
        for _ in range(self.max_iter):
            self._m_step(x, multiplicity[:, None] * self._e_step(x))
        self.n_iter_ += self.max_iter
        return self

    def _scale(self, counts):
        x = (counts - self.min_count_) / (self.max_count_ - self.min_count_)
        return np.clip(x * (1 - 2 * EPS) + EPS, EPS, 1 - EPS)

    def _e_step(self, x):
        # The paper's responsibilities, floors included: they steady EM on sparse histograms.
        pdf = np.exp(_beta_logpdf(x, self.alphas_, self.betas_))
        likelihoods = np.maximum(self.weights_ * pdf, EPS)
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
        self.alphas_.sort()
        self.betas_[::-1].sort()
        self.weights_ = responsibilities.sum(axis=0) / responsibilities.sum()

    def _log_joint(self, counts):
        x = self._scale(_as_counts(counts))
        with np.errstate(divide="ignore"):
            return np.log(self.weights_) + _beta_logpdf(x, self.alphas_, self.betas_)

    def predict_proba(self, counts):
        """Posterior probability of each component for counts.

        Parameters
        ----------
        counts : array-like of shape (n_rows,)
            Counts to query; values outside the fitted range are clipped.

        Returns
        -------
        proba : ndarray of shape (n_rows, 2)
            Column 0 is the clean posterior, column 1 the noisy one; each
            row sums to 1. For a degenerate fit the clean posterior is 1.
        """
        check_is_fitted(self, "weights_")
        if self.degenerate_:
            size = _as_counts(counts).size
            return np.column_stack([np.ones(size), np.zeros(size)])
        log_joint = self._log_joint(counts)
        return np.exp(log_joint - special.logsumexp(log_joint, axis=1, keepdims=True))

    def log_odds(self, counts):
        """Log of the clean over the noisy posterior, finite where the posteriors round to 0 or 1.

        Parameters
        ----------
        counts : array-like of shape (n_rows,)
            Counts to query; values outside the fitted range are clipped.

        Returns
        -------
        log_odds : ndarray of shape (n_rows,)
            ``log p_0 - log p_1``; ``inf`` for a degenerate fit.
        """
        check_is_fitted(self, "weights_")
        if self.degenerate_:
            return np.full(_as_counts(counts).size, np.inf)
        log_joint = self._log_joint(counts)
        return log_joint[:, CLEAN] - log_joint[:, NOISY]

    def density(self, counts):
        """Each component's weighted density, per unit of count.

        Parameters
        ----------
        counts : array-like of shape (n_points,)
            Where to evaluate, in counts.

        Returns
        -------
        density : ndarray of shape (n_points, 2)
            ``pi_k`` times component ``k``'s density; multiply by the
            number of rows to draw it over a histogram of counts with bins
            of width 1. Zero for a degenerate fit.
        """
        check_is_fitted(self, "weights_")
        if self.degenerate_:
            return np.zeros((_as_counts(counts).size, 2))
        span = (self.max_count_ - self.min_count_) / (1 - 2 * EPS)
        return np.exp(self._log_joint(counts)) / span

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
        return special.betainc(self.alphas_, self.betas_, self._scale(counts)[:, None])


class WrongEventMixture:
    """The beta mixture(s) on every row's wrong-event count, tabulated by class and count.

    One mixture for all rows (``"global"``) or one per given class
    (``"per_class"``, where a class with fewer than 10 rows or all-equal
    counts uses the global one). The first call to :meth:`fit` runs 20 EM
    iterations; every later call is a refit that follows the previous
    mixture 1 EM iteration (2 per class) on the updated counts, as the
    method prescribes, which gives the weights the inertia training benefits
    from. Such refits can drift, so a refit that flags more than twice as
    many rows as a fresh 20-iteration fit on the same counts is replaced by
    the fresh fit.

    Parameters
    ----------
    kind : {"global", "per_class"}, default="global"
        Mixture policy.
    n_classes : int, default=2
        Number of classes (label codes are ``0 .. n_classes - 1``).
    max_count : int, default=1
        Largest count to tabulate.

    Attributes
    ----------
    mixture_ : BetaMixture
        Mixture of all rows' counts.
    class_mixtures_ : list of BetaMixture or None
        With ``kind="per_class"``, the mixture each class used.
    table_ : ndarray of shape (n_classes, max_count + 1, 4)
        ``p_0, p_1, F_0, F_1`` of each class at each count.

    See Also
    --------
    judge : the verdict on these posteriors.

    Examples
    --------
    >>> import numpy as np
    >>> from skwrongevent import WrongEventMixture
    >>> counts = np.r_[np.zeros(80), np.full(20, 9)].astype(int)
    >>> mixture = WrongEventMixture(n_classes=2, max_count=9).fit(counts, np.zeros(100, int))
    >>> mixture.table_[0, [0, 9], 0].round(2)  # p_0 at 0 and 9 wrong events
    array([1., 0.])
    """

    def __init__(self, kind="global", n_classes=2, max_count=1):
        self.kind = kind
        self.n_classes = n_classes
        self.max_count = max_count

    def fit(self, counts, codes):
        """Fit (or refit) the mixture(s) and tabulate them.

        Parameters
        ----------
        counts : array-like of shape (n_rows,)
            Wrong-event counts.
        codes : array-like of shape (n_rows,)
            Given labels as class codes.

        Returns
        -------
        self : WrongEventMixture
        """
        counts = np.asarray(counts)
        codes = np.asarray(codes)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the caller reports degenerate fits
            previous = getattr(self, "mixture_", None)
            self.mixture_ = self._refit(previous, counts)
            self.class_mixtures_ = self._fit_class_mixtures(counts, codes, previous)
        grid = np.arange(self.max_count + 1)
        tables = {}
        for mixture in self._mixtures():
            if id(mixture) not in tables:
                tables[id(mixture)] = np.hstack([mixture.predict_proba(grid), mixture.cdf(grid)])
        self.table_ = np.stack([tables[id(mixture)] for mixture in self._mixtures()])
        return self

    def _mixtures(self):
        return self.class_mixtures_ or [self.mixture_] * self.n_classes

    def log_odds(self, counts, codes):
        """:meth:`BetaMixture.log_odds` of each row's mixture at its count.

        Parameters
        ----------
        counts : array-like of shape (n_rows,)
        codes : array-like of shape (n_rows,)

        Returns
        -------
        log_odds : ndarray of shape (n_rows,), dtype=float64
        """
        counts, codes = np.asarray(counts, dtype=np.float64), np.asarray(codes)
        out = np.empty(counts.shape)
        if self.class_mixtures_ is None:
            groups = [(self.mixture_, slice(None))]
        else:
            groups = [(m, codes == code) for code, m in enumerate(self.class_mixtures_)]
        for mixture, rows in groups:
            if counts[rows].size:
                out[rows] = mixture.log_odds(counts[rows])
        return out

    def _refit(self, previous, counts):
        """Follow the previous fit a few EM steps, unless a fresh fit tells it has drifted."""
        fresh = BetaMixture(warm_start=True).fit(counts)
        if previous is None or previous.degenerate_:
            return fresh
        followed = previous.set_params(max_iter=REFIT_ITERATIONS[self.kind]).fit(counts)
        values, multiplicity = _distinct_counts(counts)
        flagged, fresh_flagged = (
            multiplicity[mixture.predict_proba(values)[:, CLEAN] < 0.5].sum() / counts.size
            for mixture in (followed, fresh)
        )
        return fresh if flagged > 2 * fresh_flagged + 1 / counts.size else followed

    def _fit_class_mixtures(self, counts, codes, previous_global):
        if self.kind == "global":
            return None
        previous = getattr(self, "class_mixtures_", None) or [None] * self.n_classes
        mixtures = []
        for code, before in enumerate(previous):
            class_counts = counts[codes == code]
            if class_counts.size < MIN_CLASS_ROWS or np.ptp(class_counts) == 0:
                mixtures.append(self.mixture_)
            else:  # a class that used the global mixture starts a mixture of its own
                own = None if before is previous_global else before
                mixtures.append(self._refit(own, class_counts))
        return mixtures

    @property
    def degenerate_(self):
        """Whether all counts were equal, so that nothing can be judged."""
        return self.mixture_.degenerate_


def _beta_logpdf(x, alphas, betas):
    """Log densities of points ``x`` (n,) under each of two betas, without scipy.stats' overhead."""
    x = x[:, None]
    log_norm = special.betaln(alphas, betas)
    return special.xlogy(alphas - 1, x) + special.xlog1py(betas - 1, -x) - log_norm


def _chunks(n_rows):
    for start in range(0, n_rows, CHUNK):
        yield slice(start, start + CHUNK)


def _distinct_counts(counts):
    """The distinct counts, ascending, and how many rows have each.

    Integer counts are tallied with ``np.bincount``, which needs memory for
    the largest count only, not a sorted copy of every row's count.
    """
    counts = np.asarray(counts)
    if counts.dtype.kind in "iu" and counts.ndim == 1 and counts.size and counts.min() >= 0:
        multiplicity = np.zeros(int(counts.max()) + 1, dtype=np.int64)
        for part in _chunks(counts.size):
            multiplicity += np.bincount(counts[part], minlength=multiplicity.size)
        values = np.flatnonzero(multiplicity)
        return values.astype(np.float64), multiplicity[values]
    return np.unique(_as_counts(counts), return_counts=True)


def _as_counts(counts):
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(f"counts must be a non-empty 1-D array, got shape {counts.shape}.")
    if not np.all(np.isfinite(counts)):
        raise ValueError("counts contain NaN or infinity.")
    return counts
