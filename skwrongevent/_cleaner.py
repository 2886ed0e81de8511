"""WrongEventCleaner: drop mislabelled rows inside imbalanced-learn pipelines."""

import dataclasses
import math
import numbers

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, clone
from sklearn.utils import _safe_indexing
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import validate_data

from ._classifier import WrongEventClassifier
from ._report import LabelIssuesMixin


class WrongEventCleaner(LabelIssuesMixin, OneToOneFeatureMixin, BaseEstimator):
    """Find rows with wrong labels by their wrong events, and drop them.

    A resampler in imbalanced-learn's protocol: ``fit_resample(X, y)``
    trains a :class:`WrongEventClassifier` on the rows, judges each row by
    its statistics and returns the rows it keeps. Use it as a step of
    ``imblearn.pipeline.Pipeline`` in front of any scikit-learn model.

    scikit-learn's own ``Pipeline`` cannot drop rows: it rejects this step
    because it has no ``transform``. Use ``imblearn.pipeline.make_pipeline``,
    or clean once and train on the result::

        X_clean, y_clean = WrongEventCleaner().fit_resample(X, y)
        model.fit(X_clean, y_clean)

    Parameters
    ----------
    classifier : WrongEventClassifier or None, default=None
        Configures the network, epochs and mixture; it is cloned, never
        fitted in place. ``None`` uses ``WrongEventClassifier(max_epochs=20)``:
        a verdict needs the counts and the robust stage, not a fully trained
        network, so half the classifier's default budget suffices.
    threshold : float in (0, 1], default=0.5
        Rows whose clean probability is below ``threshold`` are dropped;
        0.5 drops exactly the classifier's ``noise_mask_``.
    drop_fraction : float in [0, 1) or None, default=None
        If set, drop this fraction of rows instead, the most likely wrong first
        (``threshold`` is then ignored).
    random_state : int, RandomState instance or None, default=None
        Passed to the classifier.

    Attributes
    ----------
    classifier_ : WrongEventClassifier
        The fitted classifier.
    sample_indices_ : ndarray of shape (n_kept,)
        Indices of the kept rows, in their original order.
    noise_mask_ : ndarray of shape (n_samples,), dtype=bool
        True for dropped rows.
    sample_cleanliness_ : ndarray of shape (n_samples,)
        Probability that each label is right.
    sample_margin_ : ndarray of shape (n_samples,)
        Average label margin of each row (lowest: most likely wrong).
    label_quality_ : ndarray of shape (n_samples,)
        The classifier's ranking score (lowest: most likely wrong); with
        ``drop_fraction``, the rows with the lowest are dropped.
    sample_difficulty_ : ndarray of shape (n_samples,)
        Difficulty of each row inside the clean component.
    wrong_events_ : ndarray of shape (n_samples,)
        Wrong-event counts.
    given_labels_ : ndarray of shape (n_samples,)
        Each row's label as given.
    predicted_labels_ : ndarray of shape (n_samples,)
        The fitted classifier's prediction of each row (as ``predict`` gives it).
    sampling_strategy_ : dict
        Rows kept per class, as imbalanced-learn samplers report it.
    n_features_in_ : int
        Number of features.

    See Also
    --------
    WrongEventClassifier : the model whose statistics this uses.
    find_label_issues : ranked indices of suspected wrong labels.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skwrongevent import WrongEventCleaner, inject_label_noise
    >>> X, y = load_iris(return_X_y=True)
    >>> y_noisy, is_wrong = inject_label_noise(y, 0.2, random_state=0)
    >>> cleaner = WrongEventCleaner(random_state=0)
    >>> X_kept, y_kept = cleaner.fit_resample(X, y_noisy)
    >>> X_kept.shape[0] == len(cleaner.sample_indices_) < 150
    True
    """

    def __init__(self, classifier=None, *, threshold=0.5, drop_fraction=None, random_state=None):
        self.classifier = classifier
        self.threshold = threshold
        self.drop_fraction = drop_fraction
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        try:  # imbalanced-learn's checks read its own tag classes
            from imblearn.utils._tags import InputTags, SamplerTags, Tags
        except ImportError:
            return tags
        return Tags(
            estimator_type="sampler",
            target_tags=tags.target_tags,
            transformer_tags=None,
            regressor_tags=None,
            classifier_tags=None,
            input_tags=InputTags(**dataclasses.asdict(tags.input_tags), dataframe=True),
            sampler_tags=SamplerTags(sample_indices=True),
        )

    def _check_params(self):
        threshold = self.threshold
        if not isinstance(threshold, numbers.Real) or not 0 < threshold <= 1:
            raise ValueError(f"threshold must be a float in (0, 1], got {threshold!r}.")
        fraction = self.drop_fraction
        if fraction is not None and (
            not isinstance(fraction, numbers.Real) or not 0 <= fraction < 1
        ):
            raise ValueError(f"drop_fraction must be None or a float in [0, 1), got {fraction!r}.")
        if self.classifier is not None and not isinstance(self.classifier, WrongEventClassifier):
            raise TypeError(
                f"classifier must be a WrongEventClassifier or None, got {self.classifier!r}."
            )

    def _make_classifier(self):
        if self.classifier is None:
            classifier = WrongEventClassifier(max_epochs=20)
        else:
            classifier = clone(self.classifier)
        return classifier.set_params(random_state=self.random_state)

    def fit(self, X, y):
        """Judge every row of ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training rows: features, or images (n_samples, channels, height,
            width) for a classifier with an image module.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Given labels, possibly wrong; one-hot rows are read as their class.

        Returns
        -------
        self : WrongEventCleaner
            The fitted cleaner.
        """
        self._check_params()
        before = dict(self.__dict__)
        try:
            validate_data(self, X, reset=True, dtype=None, skip_check_array=True)
            self.classifier_ = self._make_classifier().fit(X, _labels_from_target(y))
        except BaseException:  # a fit that fails leaves the cleaner as it was
            self.__dict__.clear()
            self.__dict__.update(before)
            raise
        self._row_index = X.index if hasattr(X, "iloc") else None  # a DataFrame's row labels
        self.wrong_events_ = self.classifier_.wrong_events_
        self.sample_cleanliness_ = self.classifier_.sample_cleanliness_
        self.sample_margin_ = self.classifier_.sample_margin_
        self.sample_difficulty_ = self.classifier_.sample_difficulty_
        self.label_quality_ = self.classifier_.label_quality_
        self.given_labels_ = self.classifier_.given_labels_
        self.predicted_labels_ = self.classifier_.predicted_labels_
        self.noise_mask_ = self._judge_rows()
        self.sample_indices_ = np.flatnonzero(~self.noise_mask_)
        kept_labels = self.given_labels_[self.sample_indices_]
        classes, counts = np.unique(kept_labels, return_counts=True)
        self.sampling_strategy_ = dict(zip(classes.tolist(), counts.tolist(), strict=True))
        return self

    def _judge_rows(self):
        if self.drop_fraction is None:
            return self.sample_cleanliness_ < self.threshold
        n_drop = math.ceil(self.drop_fraction * self.sample_cleanliness_.size)
        mask = np.zeros(self.sample_cleanliness_.size, dtype=bool)
        mask[np.argsort(self.label_quality_, kind="stable")[:n_drop]] = True
        return mask

    def fit_resample(self, X, y):
        """Fit, then return the rows judged correctly labelled.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training rows; the kept rows come back in the same container
            type and dtype.
        y : array-like of shape (n_samples,)
            Given labels, possibly wrong.

        Returns
        -------
        X_resampled : array-like of shape (n_kept, ...)
            Kept rows of ``X``.
        y_resampled : array-like of shape (n_kept,)
            Their labels.
        """
        self.fit(X, y)
        return _safe_indexing(X, self.sample_indices_), _safe_indexing(y, self.sample_indices_)


def _labels_from_target(y):
    """Class labels, reading one-hot rows (imbalanced-learn's one-vs-all form) as classes."""
    if type_of_target(y) == "multilabel-indicator":
        y = np.asarray(y)
        if np.all(y.sum(axis=1) == 1):
            return y.argmax(axis=1)
    return y


def find_label_issues(X, y, *, classifier=None, threshold=0.5, random_state=None):
    """Indices of rows whose label is probably wrong, most likely wrong first.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        Rows: features, or images for a classifier with an image module.
    y : array-like of shape (n_samples,)
        Given labels.
    classifier : WrongEventClassifier or None, default=None
        As in :class:`WrongEventCleaner`.
    threshold : float in (0, 1], default=0.5
        Rows with a clean probability below it are reported.
    random_state : int, RandomState instance or None, default=None
        Seed of the network.

    Returns
    -------
    indices : ndarray of shape (n_issues,)
        Row indices, most likely wrong first (by increasing
        ``label_quality_``).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skwrongevent import find_label_issues, inject_label_noise
    >>> X, y = load_digits(return_X_y=True)
    >>> y_noisy, is_wrong = inject_label_noise(y, 0.2, random_state=0)
    >>> issues = find_label_issues(X / 16, y_noisy, random_state=0)
    >>> bool(is_wrong[issues[:100]].mean() > 0.9)
    True
    """
    cleaner = WrongEventCleaner(classifier, threshold=threshold, random_state=random_state)
    cleaner.fit(X, y)
    order = np.argsort(cleaner.label_quality_, kind="stable")
    return order[cleaner.noise_mask_[order]]
