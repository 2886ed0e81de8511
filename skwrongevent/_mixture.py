"""The beta mixture on wrong-event counts, and the verdict policy built on it."""

import warnings

import numpy as np
from scipy import special
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

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
                UserWarning,
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


class WrongEventVerdict:
    """Judge every row from its wrong-event count and given label.

    Owns the mixture policy: one mixture for all rows (``"global"``) or one
    per given class (``"per_class"``, where a class with fewer than 10 rows
    or all-equal counts uses the global one). The first call to :meth:`fit`
    runs 20 EM iterations; every later call is a refit that follows the
    previous mixture 1 EM iteration (2 per class) on the updated counts, as
    in the paper, which gives the verdict the inertia training benefits
    from. Such refits can drift, though (one wrong label in clean digits
    once ended with every row flagged), so a refit that flags more than
    twice as many rows as a fresh 20-iteration fit on the same counts is
    replaced by the fresh fit.

    A verdict is also a claim about the data: that each flagged row belongs to
    the class the network predicts for it. Label noise can only be told
    apart from the truth while each class's own label is still the most
    common true class of its rows, so one claim is implausible: that as many
    of a class's rows belong to one other class as stay in it (those judged
    clean, or predicted as their own label), or more. Where the verdict makes that
    claim, it is cut back to the rows with more wrong events than the
    class's median (``capped_classes_``). And where the network also
    predicts the class for fewer than half as many rows as carry its label,
    the class is more likely not learned yet (it is hard, rare, or training
    was short) than mislabelled; flagging its rows would train it away,
    since flagged rows are pushed towards the network's prediction. Its
    verdict is withheld: its rows count as clean and train as in plain
    training (``withheld_classes_``). Both checks need the network's
    predictions.

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
    clean_limit_ : ndarray of shape (n_classes,)
        Each class's largest count judged clean (0 if none is).
    capped_classes_ : ndarray of int
        Codes of the classes whose flags were cut back to the rows above
        the class's median count.
    withheld_classes_ : ndarray of int
        Codes of the classes whose verdict was withheld.

    Examples
    --------
    >>> import numpy as np
    >>> from skwrongevent import WrongEventVerdict
    >>> counts = np.r_[np.zeros(40), np.full(10, 9), np.full(50, 9)]
    >>> codes = np.r_[np.zeros(50, int), np.ones(50, int)]
    >>> predicted = np.zeros(100, int)  # the network never predicts class 1
    >>> verdict = WrongEventVerdict(n_classes=2, max_count=9).fit(counts, codes, predicted)
    >>> verdict.withheld_classes_.tolist()
    [1]
    >>> verdict.cleanliness(counts, codes).reshape(2, 50).mean(axis=1).round(1)
    array([0.8, 1. ], dtype=float32)
    """

    def __init__(self, kind="global", n_classes=2, max_count=1):
        self.kind = kind
        self.n_classes = n_classes
        self.max_count = max_count

    def fit(self, counts, codes, predicted=None):
        """Fit the mixture(s) and tabulate the verdict.

        Parameters
        ----------
        counts : array-like of shape (n_rows,)
            Wrong-event counts.
        codes : array-like of shape (n_rows,)
            Given labels as class codes.
        predicted : array-like of shape (n_rows,) or None, default=None
            The network's latest prediction of each row, as a class code
            (-1 for none); None skips the plausibility checks.

        Returns
        -------
        self : WrongEventVerdict
        """
        counts = np.asarray(counts)
        codes = np.asarray(codes)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the caller reports degenerate fits
            previous = getattr(self, "mixture_", None)
            self.mixture_ = self._refit(previous, counts)
            self.class_mixtures_ = self._fit_class_mixtures(counts, codes, previous)
        mixtures = self.class_mixtures_ or [self.mixture_] * self.n_classes
        grid = np.arange(self.max_count + 1)
        tables = {}
        for mixture in mixtures:
            if id(mixture) not in tables:
                tables[id(mixture)] = np.hstack([mixture.predict_proba(grid), mixture.cdf(grid)])
        table = np.stack([tables[id(mixture)] for mixture in mixtures])
        implausible, learned = self._plausibility(table, counts, codes, predicted)
        self.capped_classes_ = np.flatnonzero(implausible & learned)
        self.withheld_classes_ = np.flatnonzero(implausible & ~learned)
        for code in self.capped_classes_:
            # At most half of the class's rows lie above its lower median.
            median = int(np.quantile(counts[codes == code], 0.5, method="lower"))
            table[code, : min(median, self.max_count) + 1, : NOISY + 1] = (1.0, 0.0)
        table[self.withheld_classes_, :, : NOISY + 1] = (1.0, 0.0)
        self.table_ = table
        # Posteriors never rise with the count, so each class's clean counts run from 0 up.
        self.clean_limit_ = np.maximum((table[:, :, CLEAN] >= 0.5).sum(axis=1) - 1, 0)
        return self

    def _plausibility(self, table, counts, codes, predicted):
        """Which classes the verdict implausibly empties, and which the network has learned."""
        n_classes = self.n_classes
        if predicted is None:
            return np.zeros(n_classes, dtype=bool), np.ones(n_classes, dtype=bool)
        predicted = np.asarray(predicted)
        clean = table[:, :, CLEAN] >= 0.5
        labelled, kept, predictions = np.zeros((3, n_classes), dtype=np.int64)
        moves = np.zeros((n_classes, n_classes), dtype=np.int64)
        for part in _chunks(len(codes)):
            given, guess = codes[part], predicted[part]
            labelled += np.bincount(given, minlength=n_classes)
            moved = ~clean[given, np.minimum(counts[part], self.max_count).astype(np.intp)]
            moved &= (guess >= 0) & (guess != given)
            kept += np.bincount(given[~moved], minlength=n_classes)
            np.add.at(moves, (given[moved], guess[moved]), 1)
            predictions += np.bincount(guess[guess >= 0], minlength=n_classes)
        learned = predictions >= 0.5 * labelled
        return (moves.max(axis=1) >= kept) & (labelled > 0), learned

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

    def _lookup(self, counts, codes, column, predicted):
        counts, codes = np.asarray(counts), np.asarray(codes)
        predicted = None if predicted is None else np.asarray(predicted)
        out = np.empty(counts.shape, dtype=np.float32)
        for part in _chunks(len(counts)):
            given, count = codes[part], np.minimum(counts[part], self.max_count)
            if predicted is not None:
                agrees = predicted[part] == given
                count[agrees] = np.minimum(count[agrees], self.clean_limit_[given[agrees]])
            out[part] = self.table_[given, count.astype(np.intp, copy=False), column]
        return out

    def cleanliness(self, counts, codes, predicted=None):
        """Clean posterior ``p_0`` of rows with these counts and given labels.

        Rows whose ``predicted`` class code equals their given label are
        looked up at no more than their class's largest clean count
        (``clean_limit_``); pass predictions that the network made without
        fitting those rows' labels (see :class:`WrongEventClassifier`).
        """
        return self._lookup(counts, codes, CLEAN, predicted)

    def difficulty(self, counts, codes, predicted=None):
        """``F_0``: where each row sits inside its clean component, in [0, 1].

        ``predicted`` as in :meth:`cleanliness`.
        """
        return self._lookup(counts, codes, 2, predicted)

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
