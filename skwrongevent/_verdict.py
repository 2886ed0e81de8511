"""The verdict policy: what the counts say about each row, and how far training acts on it.

Plain functions on arrays, so that every rule is tested without training a
network. :class:`WrongEventClassifier` fits the mixture, calls these and
reads the frozen :class:`Verdict` they return.

Two kinds of output never mix. The **evidence** (``cleanliness``,
``difficulty``, ``label_quality``) is the mixture's reading of each row's
counts, monotone in them within the row's mixture. The **actions**
(``noise_mask``, the table the robust loss weighs rows by) may be limited
by a guard, so that no class is erased; a guard never touches the evidence.
"""

import inspect
import math
import os
import warnings
from dataclasses import dataclass

import numpy as np

CLEAN, NOISY, CLEAN_CDF = range(3)  # columns of a mixture's table; the fourth is F_1
# A network has learned once its training predictions agree with the given labels more often
# than predictions independent of the rows would, by this many standard deviations; a network
# is better than another by as many standard deviations of a paired sign test.
MIN_AGREEMENT_Z = 2
MIN_WARMUP_EPOCHS = 3
_PACKAGE = os.path.dirname(__file__)


@dataclass(frozen=True)
class Verdict:
    """What one judgement of the counts gives: the evidence per row, and what to act on.

    Attributes
    ----------
    cleanliness : ndarray of shape (n_rows,), dtype=float64
        The clean posterior ``p_0`` of each row's mixture at its count.
    difficulty : ndarray of shape (n_rows,), dtype=float32
        ``F_0``, where the count sits inside the clean component.
    label_quality : ndarray of shape (n_rows,), dtype=float64
        A score in (0, 1) ordered as the counts, ties broken by the margin
        (the row the network doubts most scores lowest), below 0.5 where
        the clean posterior is (see :func:`judge`).
    noise_mask : ndarray of shape (n_rows,), dtype=bool
        Rows judged mislabelled: a clean posterior below 0.5 and, where
        margins are given, a label the network out-votes on average (a hard
        row the network ends up confirming is kept), less the rows a guard
        keeps.
    capped_classes, withheld_classes : ndarray of int
        Codes of the guarded classes (see :func:`judge`).
    training_table : ndarray of shape (n_classes, max_count + 1, 4)
        ``p_0, p_1, F_0, F_1`` the robust loss weighs each class's rows by,
        at each count: the mixture's, with the guards and the strength
        applied.
    """

    cleanliness: np.ndarray
    difficulty: np.ndarray
    label_quality: np.ndarray
    noise_mask: np.ndarray
    capped_classes: np.ndarray
    withheld_classes: np.ndarray
    training_table: np.ndarray

    @property
    def clean_limit(self):
        """Each class's largest count the robust loss weighs as clean (0 if none)."""
        clean = self.training_table[:, :, CLEAN] >= 0.5
        return np.maximum(clean.sum(axis=1) - 1, 0)


def judge(mixture, counts, codes, *, predicted=None, margin=None, strength=1.0):
    """Judge every row from its counts, and decide how far training acts on the judgement.

    Guards, both from the network's latest predictions of the rows: a class
    whose flagged rows the network moves to one other class as often as
    it keeps rows in it or more is *capped* (label noise can only be told
    apart from the truth while a class's own label is its rows' most common
    true class): only its rows above its median count are masked and
    down-weighted. Where the network also predicts the class for fewer
    than half as many rows as carry its label, the class is more likely not
    learned yet than mislabelled, and acting on its rows would train it
    away: it is *withheld*, none of its rows masked or down-weighted.

    Parameters
    ----------
    mixture : WrongEventMixture
        Fitted on these counts.
    counts : ndarray of shape (n_rows,)
        Wrong-event counts.
    codes : ndarray of shape (n_rows,)
        Given labels as class codes.
    predicted : ndarray of shape (n_rows,) or None, default=None
        The network's latest prediction of each row (-1 for none); None
        skips the guards.
    margin : ndarray of shape (n_rows,) or None, default=None
        Each row's average label margin in [-1, 1], the tie-break of
        ``label_quality``; None breaks no ties.
    strength : float in [0, 1], default=1.0
        The share of the flagged rows (clean posterior below 0.5, guards
        applied) the robust loss acts on, those with the most wrong events
        first (ties included); the others weigh as clean rows, as in plain
        training. Acting on a row fully or not at all keeps a half-weighted
        wrong label from being learned after all.

    Returns
    -------
    verdict : Verdict

    Examples
    --------
    >>> import numpy as np
    >>> from skwrongevent import WrongEventMixture, judge
    >>> counts = np.r_[np.zeros(40), np.full(10, 9), np.full(50, 9)].astype(int)
    >>> codes = np.r_[np.zeros(50, int), np.ones(50, int)]
    >>> mixture = WrongEventMixture(n_classes=2, max_count=9).fit(counts, codes)
    >>> verdict = judge(mixture, counts, codes, predicted=np.zeros(100, int))
    >>> verdict.withheld_classes.tolist()  # the network never predicts class 1
    [1]
    >>> is_one = codes == 1
    >>> bool(verdict.cleanliness[is_one].max() < 0.5), bool(verdict.noise_mask[is_one].any())
    (True, False)
    """
    counts, codes = np.asarray(counts), np.asarray(codes)
    table = mixture.table_
    index = np.minimum(counts, mixture.max_count).astype(np.intp)
    cleanliness = table[codes, index, CLEAN]
    difficulty = table[codes, index, CLEAN_CDF].astype(np.float32)
    label_quality = _label_quality(mixture, counts, codes, margin)
    capped, withheld = _guarded_classes(table, index, codes, predicted, mixture.n_classes)
    training = table.copy()
    medians = np.zeros(mixture.n_classes, dtype=np.intp)
    for code in capped:
        # At most half of the class's rows lie above its lower median.
        medians[code] = min(np.quantile(index[codes == code], 0.5, method="lower"), table.shape[1])
        training[code, : medians[code] + 1, : NOISY + 1] = (1.0, 0.0)
    training[withheld, :, : NOISY + 1] = (1.0, 0.0)
    if strength < 1:  # act on the most suspicious share of the flagged rows only
        flagged_counts = np.sort(index[training[codes, index, CLEAN] < 0.5])[::-1]
        acted = round(strength * flagged_counts.size)
        lowest = flagged_counts[acted - 1] if acted else table.shape[1]
        training[:, :lowest, : NOISY + 1] = (1.0, 0.0)
    noise_mask = cleanliness < 0.5
    if margin is not None:  # a label the network confirms on average is not removed
        noise_mask &= np.asarray(margin) < 0
    noise_mask &= ~np.isin(codes, withheld)
    noise_mask &= ~(np.isin(codes, capped) & (index <= medians[codes]))
    return Verdict(cleanliness, difficulty, label_quality, noise_mask, capped, withheld, training)


def _label_quality(mixture, counts, codes, margin):
    """The clean log-odds, interpolated by the margin towards the next count, mapped into (0, 1).

    A row with count ``c`` and margin ``m`` sits ``(1 - m) / 2`` of the way
    from the log-odds at ``c`` to those at ``c + 1`` (past the largest count,
    the last step repeated), so that rows are ordered by their counts and,
    within a count, by their margins. ``1/2 + arctan(log-odds) / pi`` keeps
    that order where the posterior itself rounds to 0 or 1, and is 0.5
    where the clean posterior is.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if mixture.degenerate_:  # no evidence in the counts: the margins alone order the rows
        return np.full(counts.shape, 0.5) if margin is None else (1 + np.asarray(margin)) / 2
    here = mixture.log_odds(counts, codes)
    if margin is None:
        return 0.5 + np.arctan(here) / np.pi
    top = counts >= mixture.mixture_.max_count_
    step = here - mixture.log_odds(np.where(top, counts - 1, counts + 1), codes)
    step = np.where(top, -step, step)
    moved = (1 - np.clip(np.asarray(margin, dtype=np.float64), -1, 1)) / 2
    return 0.5 + np.arctan(here - moved * step) / np.pi


def _guarded_classes(table, index, codes, predicted, n_classes):
    """The capped and the withheld classes' codes (see :func:`judge`)."""
    none = np.array([], dtype=np.intp)
    if predicted is None:
        return none, none
    predicted = np.asarray(predicted)
    flagged = table[codes, index, CLEAN] < 0.5
    moved = flagged & (predicted >= 0) & (predicted != codes)
    labelled = np.bincount(codes, minlength=n_classes)
    kept = np.bincount(codes[~moved], minlength=n_classes)
    moves = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(moves, (codes[moved], predicted[moved]), 1)
    predictions = np.bincount(predicted[predicted >= 0], minlength=n_classes)
    implausible = (moves.max(axis=1) >= kept) & (labelled > 0)
    learned = predictions >= 0.5 * labelled
    return np.flatnonzero(implausible & learned), np.flatnonzero(implausible & ~learned)


def beats_chance(predicted, labels, agree):
    """Whether predictions agree with the labels more often than row-blind ones would.

    Predictions independent of the rows (a constant predictor, or one that
    guesses) agree with a label as often as the predicted classes' shares
    times the labels' shares say; the network must beat that by
    ``MIN_AGREEMENT_Z`` binomial standard deviations.

    Parameters
    ----------
    predicted : array-like of shape (n_classes,)
        How many rows are predicted as each class.
    labels : array-like of shape (n_classes,)
        How many of the same rows carry each label.
    agree : int
        How many of them are predicted as their label.

    Returns
    -------
    bool

    Examples
    --------
    >>> from skwrongevent._verdict import beats_chance
    >>> beats_chance([50, 50], [50, 50], 90), beats_chance([100, 0], [50, 50], 50)
    (True, False)
    """
    predicted, labels = np.asarray(predicted, float), np.asarray(labels, float)
    counted = predicted.sum()
    chance = np.dot(predicted, labels) / max(counted, 1) ** 2
    return bool(
        agree - counted * chance > MIN_AGREEMENT_Z * math.sqrt(counted * chance * (1 - chance))
    )


def evidence_strength(flagged_margins, other_margins):
    """How much the flagged rows look like wrong labels (1) rather than hard rows (0).

    A wrong label is out-voted by its true class about as strongly as a
    right label is confirmed: under a network equally sure of both, the
    average label margin of a wrong label is minus that of a right one. A
    hard but right row is a coin flip (margin near 0). So the strength is
    the flagged rows' mean margin, negated, over the other rows' mean
    margin, clipped to [0, 1]. The ratio needs no scale: averaged over the
    same epochs, both margins shrink alike with the label noise and with
    how late the network learned. :class:`WrongEventClassifier` runs its
    robust stage where it is at least 0.5, nearer the wrong-label end.

    Parameters
    ----------
    flagged_margins : array-like of shape (n_flagged,)
        Average label margins of the rows the counts flag.
    other_margins : array-like of shape (n_other,)
        Average label margins of the other rows.

    Returns
    -------
    float
        0 where either group is empty or the other rows are not confirmed.

    Examples
    --------
    >>> from skwrongevent import evidence_strength
    >>> evidence_strength([-0.3, -0.5], [0.6, 0.4])  # out-voted 0.4, confirmed 0.5
    0.8
    >>> evidence_strength([0.1, -0.1], [0.6, 0.4]), evidence_strength([], [0.5])
    (0.0, 0.0)
    """
    flagged_margins = np.asarray(flagged_margins, dtype=np.float64)
    other_margins = np.asarray(other_margins, dtype=np.float64)
    if not flagged_margins.size or not other_margins.size or other_margins.mean() <= 0:
        return 0.0
    return float(np.clip(-flagged_margins.mean() / other_margins.mean(), 0.0, 1.0)) + 0.0


def margin_auroc(counts, margin):
    """Estimated AUROC of the counts, with each row's margin read as the chance its label is wrong.

    A row with average label margin ``m`` counts as a wrong label with
    weight ``(1 - m) / 2`` and as a right one with the rest: a row the
    network out-votes its label on is likely wrong, one it is unsure about
    is a coin flip. The estimate is the AUROC of the counts against these
    soft labels: near 1 where the rows with many wrong events are the ones
    confidently predicted as another class, near 0.5 where they are rows
    the network is unsure about (overlapping classes), or where few rows
    disagree with their labels at all.

    Parameters
    ----------
    counts : array-like of shape (n_rows,)
    margin : array-like of shape (n_rows,)
        Average label margins in [-1, 1].

    Returns
    -------
    float or None
        None where no row leans either way.

    Examples
    --------
    >>> from skwrongevent import margin_auroc
    >>> margin_auroc([0, 0, 0, 9], [1, 1, 1, -1])  # the one wrong-looking row has the most
    1.0
    >>> margin_auroc([0, 5, 0, 5], [0, 0, 0, 0])  # every row a coin flip
    0.5
    """
    counts = np.asarray(counts, dtype=np.float64)
    wrong = (1 - np.clip(np.asarray(margin, dtype=np.float64), -1, 1)) / 2
    values, index = np.unique(counts, return_inverse=True)
    positive = np.bincount(index, wrong, values.size)
    negative = np.bincount(index, 1 - wrong, values.size)
    total = positive.sum() * negative.sum()
    if total == 0:
        return None
    below = np.cumsum(negative) - negative
    return float(np.dot(positive, below + negative / 2) / total)


def better_network(first, second, codes, weights, n_classes):
    """Whether the first network fits the weighted rows better, and both networks' agreements.

    A network's agreement is the mean over classes of the weighted share of
    each class's rows predicted as their label (so that a network that gave
    up a rare class is not excused by the common ones). The first is better
    where it leads by more than ``MIN_AGREEMENT_Z`` standard deviations of
    the lead that the rows on which only one of them is right would give if
    each were as likely to be the one (a paired sign test, each row
    weighted as in the means), or where the second predicts fewer classes:
    a network that stopped predicting a class the first predicts is never
    kept over it.

    Parameters
    ----------
    first, second : ndarray of shape (n_rows,)
        Each network's predicted class code of each row.
    codes : ndarray of shape (n_rows,)
        Given labels.
    weights : ndarray of shape (n_rows,)
        Each row's weight, such as its clean probability.
    n_classes : int

    Returns
    -------
    better : bool
    agreements : tuple of float

    Examples
    --------
    >>> import numpy as np
    >>> from skwrongevent._verdict import better_network
    >>> codes = np.r_[np.zeros(90, int), np.ones(10, int)]
    >>> better, agreements = better_network(codes, np.zeros(100, int), codes, np.ones(100), 2)
    >>> better, np.round(agreements, 3).tolist()
    (True, [1.0, 0.5])
    """
    total = np.bincount(codes, weights, n_classes)
    has_rows = total > 0
    share = weights / np.where(has_rows, total, 1)[codes]
    right = [share * (predicted == codes) for predicted in (first, second)]
    agreements = tuple(float(np.bincount(codes, r, n_classes)[has_rows].mean()) for r in right)
    lead = right[0] - right[1]
    better = lead.sum() > MIN_AGREEMENT_Z * math.sqrt(np.dot(lead, lead))
    fewer_classes = np.unique(second).size < np.unique(first).size
    return bool(better or fewer_classes), agreements


def fit_messages(
    *,
    warmup_epochs,
    held_out,
    n_rows,
    degenerate_count,
    epochs,
    learned,
    still_learning,
    restored,
    base_epoch,
    capped,
    withheld,
    stopped_early=None,
    unweighted=(),
):
    """The warnings a fit's facts call for, each naming the problem and what to do.

    Parameters
    ----------
    warmup_epochs : int
        Epochs of the warm-up.
    held_out, n_rows : int
        Rows held out for validation, of all rows.
    degenerate_count : int or None
        The count every row has, where all are equal.
    epochs : int
        Epochs trained.
    learned : bool
        Whether the network's predictions ever beat chance.
    still_learning : bool
        Whether the prediction-change curve still fell when the epochs ran out.
    restored : tuple of float or None
        The base and the robust network's agreements, where the base model was kept.
    base_epoch : int
    capped, withheld : list
        The guarded classes' labels.
    stopped_early : int or None, default=None
        ``max_epochs``, where training stopped before the robust stage
        could start.
    unweighted : list, default=()
        Labels of classes whose rows all have weight 0.

    Yields
    ------
    message : str
    """
    if not epochs:
        yield (
            "No epoch was trained (max_epochs=0 initialises the network and sets classes_), "
            "so no row was judged: the per-row scores are NaN and noise_mask_ is empty."
        )
        return
    if 0 < warmup_epochs < MIN_WARMUP_EPOCHS:
        yield (
            f"The warm-up had {warmup_epochs} epoch(s), too few to tell wrong labels from rows "
            "not learned yet. Raise max_epochs or warmup_fraction so that it has at least "
            f"{MIN_WARMUP_EPOCHS}."
        )
    if held_out:
        yield (
            f"train_split held out {held_out} of {n_rows} rows for validation. They are not "
            "trained on, so they are not judged: their sample_cleanliness_, "
            "sample_difficulty_, label_quality_ and sample_margin_ are NaN and noise_mask_ is "
            "False. Use train_split=None to judge every row, or "
            "skorch.helper.predefined_split(valid_dataset) to validate on other rows."
        )
    if degenerate_count is not None:
        yield (
            f"Every training row has {degenerate_count} wrong events: no evidence of label "
            "noise, and no row is flagged."
        )
    if not learned and epochs:
        yield (
            f"In all {epochs} epochs the network's training predictions agreed with the given "
            "labels no more often than chance (predictions that ignore the rows) would: it has "
            "not learned, so its counts say nothing about the labels, no row is flagged, and "
            "training went on plainly. Raise lr or max_epochs, or check that the features are "
            "scaled."
        )
    elif still_learning:
        yield (
            f"The network was still learning after all {epochs} epochs (fewer rows change "
            "prediction every epoch), so no robust training ran and the verdict cannot tell "
            "wrong labels from rows not learned yet. Raise max_epochs or lr."
        )
    if stopped_early is not None:
        yield (
            f"Training stopped after {epochs} of {stopped_early} epochs (a callback such as "
            "EarlyStopping, or Ctrl-C), before the robust stage: the network is the warm-up's "
            "and the verdict rests on its counts alone. Let the fit run its max_epochs, or "
            "give EarlyStopping more patience."
        )
    if unweighted:
        yield (
            f"sample_weight and class_weight give every row of classes {unweighted} weight 0: "
            "the network is not trained on them and need not predict them, so their counts "
            "and scores say nothing about their labels. Give them weight, or drop their rows."
        )
    if restored is not None:
        base, robust = restored
        yield (
            "Robust training ended predicting the rows judged clean as their labels less often "
            f"than the base model it started from, or fewer classes (mean over classes "
            f"{robust:.3f} against {base:.3f}), so the base model (epoch {base_epoch}) is kept. "
            "The robust stage restarts the optimizer at the full lr, which can throw a "
            "well-trained network off its minimum: lower lr, or check the training loss in "
            "history_."
        )
    if capped and learned:
        yield (
            f"Judging by wrong events, most rows of classes {capped} are mislabelled, which no "
            "class's labels can be: only the rows above each one's median count are flagged "
            "and down-weighted; the scores still say what the counts say. Check these "
            "classes' labels, or train longer if they are hard."
        )
    if withheld and learned:
        yield (
            f"Judging by wrong events, most rows of classes {withheld} are mislabelled, and the "
            "network rarely predicts these classes: more likely it has not learned them (hard, "
            "rare, or too few epochs), so none of their rows is flagged or down-weighted; the "
            "scores still say what the counts say. Train longer or with a higher lr, try "
            "class_weight='balanced', or check these classes' labels by hand."
        )


class WrongEventWarning(UserWarning):
    """A fit's verdict is less than it seems; the message says why and what to change.

    Raised by :class:`WrongEventClassifier` (and :class:`BetaMixture`) when
    the network never beat chance, was still learning when the epochs ran
    out, stopped early, or when a class looks mostly mislabelled. A subclass
    of ``UserWarning``, so it shows by default; filter it by its class.

    Examples
    --------
    >>> import warnings
    >>> from skwrongevent import WrongEventWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", WrongEventWarning)  # e.g. in a grid search
    """


def warn(message):
    """Raise a :class:`WrongEventWarning` pointing at the first caller outside this package."""
    frame, level = inspect.currentframe(), 1
    while frame is not None and os.path.dirname(frame.f_code.co_filename) == _PACKAGE:
        frame, level = frame.f_back, level + 1
    # Then past skorch's and scikit-learn's frames (a Pipeline's fit calls ours).
    while frame is not None and any(
        part in frame.f_code.co_filename for part in ("/skorch/", "/sklearn/")
    ):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, WrongEventWarning, stacklevel=level)
