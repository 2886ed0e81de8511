"""Seeded label-noise injection, for benchmarks, tests and users' experiments."""

import numbers

import numpy as np
from scipy import stats
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets

NOISE_KINDS = ("symmetric", "pair", "instance")


def inject_label_noise(y, noise_rate, *, kind="symmetric", X=None, pairs=None, random_state=None):
    """Corrupt labels with a known, seeded noise process.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        True labels, of any type scikit-learn accepts for classification.
        Not modified.
    noise_rate : float in [0, 1)
        Fraction of labels to corrupt (the expected fraction for
        ``kind="instance"``).
    kind : {"symmetric", "pair", "instance"}, default="symmetric"
        - ``"symmetric"``: ``round(noise_rate * n)`` rows get a different
          class drawn uniformly.
        - ``"pair"``: ``round(noise_rate * n)`` rows move to the next class
          in sorted order, or to the class ``pairs`` names (asymmetric,
          class-dependent noise).
        - ``"instance"``: instance-dependent noise (Xia et al., 2020): each
          row's flip rate is drawn from a normal around ``noise_rate``
          truncated to ``[0, 1]``, and the wrong class is drawn from a
          softmax over a random projection of the row's features, so
          similar rows get similar wrong labels. Needs ``X``.
    X : array-like of shape (n_samples, ...), default=None
        Features, only used by ``kind="instance"``; flattened per row.
    pairs : dict, default=None
        Only for ``kind="pair"``: where each class's flipped rows go, as
        ``{label: wrong label}``, for example look-alike classes
        (``{"cat": "dog", "dog": "cat", "truck": "automobile"}``). The
        ``round(noise_rate * n)`` flipped rows are drawn from the classes
        it names as keys. None: every class moves to the next in sorted
        order.
    random_state : int, RandomState instance or None, default=None
        Seed of the corruption.

    Returns
    -------
    y_noisy : ndarray of shape (n_samples,)
        The corrupted labels, with the dtype of ``y``.
    noise_mask : ndarray of shape (n_samples,), dtype=bool
        True where ``y_noisy != y``.

    Examples
    --------
    >>> import numpy as np
    >>> from skwrongevent import inject_label_noise
    >>> y = np.repeat(["cat", "dog", "fox"], 10)
    >>> y_noisy, noise_mask = inject_label_noise(y, 0.2, random_state=0)
    >>> int(noise_mask.sum()), bool(np.all(y_noisy[noise_mask] != y[noise_mask]))
    (6, True)
    >>> y_noisy, noise_mask = inject_label_noise(
    ...     y, 0.1, kind="pair", pairs={"cat": "dog"}, random_state=0
    ... )
    >>> sorted(set(zip(y[noise_mask], y_noisy[noise_mask])))
    [(np.str_('cat'), np.str_('dog'))]
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}.")
    check_classification_targets(y)
    if not isinstance(noise_rate, numbers.Real) or not 0 <= noise_rate < 1:
        raise ValueError(f"noise_rate must be a float in [0, 1), got {noise_rate!r}.")
    if kind not in NOISE_KINDS:
        raise ValueError(f"kind must be one of {NOISE_KINDS}, got {kind!r}.")
    classes, codes = np.unique(y, return_inverse=True)
    n_classes = classes.size
    if n_classes < 2:
        raise ValueError("y has a single class: there is no other label to flip to.")
    if pairs is not None and kind != "pair":
        raise ValueError(f'pairs is only used with kind="pair", got kind={kind!r}.')
    rng = check_random_state(random_state)
    if kind == "instance":
        if X is None:
            raise ValueError('kind="instance" needs the features X.')
        noisy_codes = _instance_dependent(codes, n_classes, X, noise_rate, rng)
    else:
        noisy_codes = _flipped(codes, classes, noise_rate, kind, pairs, rng)
    return classes[noisy_codes], noisy_codes != codes


def _flipped(codes, classes, noise_rate, kind, pairs, rng):
    """Codes with ``round(noise_rate * n)`` rows flipped, symmetrically or to their pair."""
    n_classes = classes.size
    # Each class's wrong class under pair noise; -1 for a class whose rows keep their labels.
    if pairs is None:
        targets = np.roll(np.arange(n_classes), -1)  # the next class
    else:
        targets = _pair_targets(classes, pairs)
    candidates = np.flatnonzero(targets[codes] >= 0)
    n_flipped = round(noise_rate * codes.size)
    if n_flipped > candidates.size:
        raise ValueError(
            f"noise_rate={noise_rate} asks for {n_flipped} wrong labels, but the classes "
            f"that pairs names hold only {candidates.size} rows."
        )
    rows = rng.choice(candidates, size=n_flipped, replace=False)
    noisy_codes = codes.copy()
    if kind == "symmetric":
        shift = rng.randint(1, n_classes, size=rows.size)
        noisy_codes[rows] = (codes[rows] + shift) % n_classes
    else:
        noisy_codes[rows] = targets[codes[rows]]
    return noisy_codes


def _pair_targets(classes, pairs):
    """Each class code's wrong code under ``pairs``; -1 for a class that keeps its labels."""
    targets = np.full(classes.size, -1)
    for source, target in dict(pairs).items():
        for label in (source, target):
            if label not in classes:
                raise ValueError(f"pairs names {label!r}, which is not a class of y.")
        if source == target:
            raise ValueError(f"pairs maps {source!r} to itself: a wrong label must differ.")
        targets[np.searchsorted(classes, source)] = np.searchsorted(classes, target)
    return targets


def _instance_dependent(codes, n_classes, X, noise_rate, rng):
    X = np.asarray(X, dtype=np.float64).reshape(len(codes), -1)
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinity.")
    X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    flip_rates = stats.truncnorm.rvs(
        -noise_rate / 0.1,
        (1 - noise_rate) / 0.1,
        loc=noise_rate,
        scale=0.1,
        size=codes.size,
        random_state=rng,
    )
    projections = rng.standard_normal((n_classes, X.shape[1], n_classes))
    scores = np.einsum("nd,kdc->nkc", X, projections)[np.arange(codes.size), codes]
    scores[np.arange(codes.size), codes] = -np.inf
    scores = np.exp(scores - scores.max(axis=1, keepdims=True))
    proba = flip_rates[:, None] * scores / scores.sum(axis=1, keepdims=True)
    proba[np.arange(codes.size), codes] = 1 - flip_rates
    cumulative = proba.cumsum(axis=1)
    draws = rng.uniform(size=(codes.size, 1)) * cumulative[:, -1:]
    return (draws > cumulative).sum(axis=1)
