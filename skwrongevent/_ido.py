"""The IDO method's core: wrong-event counting, the base-epoch rule and the robust loss."""

import numpy as np
import torch
import torch.nn.functional as F

from ._base import FitContext


class WrongEventTracker:
    """Per-row counters on the training device, updated without host syncs.

    A row's training pass in an epoch is buffered in one integer and one
    float per row (the last pass wins, so a row seen twice in an epoch is
    counted once); :meth:`end_epoch` adds them to the totals. In a
    distributed fit every process trains on its own rows, and two sums
    across processes per epoch (passes, margins) make the totals whole and
    identical everywhere. Memory grows with the number of rows only (four
    ``int32`` and two ``float32`` vectors), never with rows times classes.

    Parameters
    ----------
    labels : torch.Tensor of shape (n_rows,)
        Each row's given label as a class code, on the training device.

    Attributes
    ----------
    wrong : torch.Tensor of shape (n_rows,), dtype=int32
        Wrong events counted up to the last :meth:`end_epoch`.
    margin : torch.Tensor of shape (n_rows,), dtype=float32
        Sum of the recorded label margins up to the last :meth:`end_epoch`.
    last_prediction : torch.Tensor of shape (n_rows,), dtype=int32
        Each row's prediction in its last counted pass, -1 before the first.

    Examples
    --------
    >>> import torch
    >>> from skwrongevent import WrongEventTracker
    >>> tracker = WrongEventTracker(torch.tensor([0, 1, 1]))
    >>> tracker.record_warmup(torch.tensor([0, 0]), rows=torch.tensor([0, 1]))
    >>> tracker.end_epoch()  # (rows whose prediction changed, rows counted)
    (2, 2)
    >>> tracker.wrong.tolist()
    [0, 1, 0]
    """

    def __init__(self, labels):
        self.labels = labels.to(torch.int32)
        self.wrong = torch.zeros(labels.shape, dtype=torch.int32, device=labels.device)
        self.last_prediction = torch.full_like(self.wrong, -1)
        self.margin = torch.zeros(labels.shape, dtype=torch.float32, device=labels.device)
        # This epoch's pass of each row: 4 * (prediction + 1) + wrong events (0-2); 0 = not seen.
        self.epoch_pass = torch.zeros_like(self.wrong)
        self.epoch_margin = torch.zeros_like(self.margin)
        self.table = self.clean_limit = None

    def record_warmup(self, predicted, rows, margin=None):
        """Record one warm-up batch's predictions (and label margins, see :func:`label_margin`)."""
        self.epoch_pass[rows] = 4 * (predicted.int() + 1) + (predicted != self.labels[rows]).int()
        if margin is not None:
            self.epoch_margin[rows] = margin.float()

    def record_robust(self, predicted_weak, predicted_strong, rows, margin=None):
        """Record one robust-stage batch: both views' wrong events, the weak view's prediction."""
        labels = self.labels[rows]
        wrong = (predicted_weak != labels).int() + (predicted_strong != labels).int()
        self.epoch_pass[rows] = 4 * (predicted_weak.int() + 1) + wrong
        if margin is not None:
            self.epoch_margin[rows] = margin.float()

    def counts(self, rows):
        """Rows' wrong events, this epoch's included."""
        return self.wrong[rows] + self.epoch_pass[rows] % 4

    def agreement(self, n_classes, chunk=2**16):
        """How the last predictions agree with the labels, for :func:`beats_chance`.

        Counted on the device in chunks of rows, so that no temporary grows
        with the data; rows not seen yet are left out.

        Returns
        -------
        predicted, labels : list of int
            Rows predicted as each class, and rows of each label.
        agree : int
            Rows predicted as their label.
        """
        bins = n_classes + 1  # bin 0: rows not seen
        counts = torch.zeros((3, bins), dtype=torch.int64, device=self.labels.device)
        for start in range(0, len(self.labels), chunk):
            predicted = self.last_prediction[start : start + chunk]
            labels = self.labels[start : start + chunk]
            counts[0] += torch.bincount(predicted + 1, minlength=bins)
            counts[1] += torch.bincount(torch.where(predicted < 0, -1, labels) + 1, minlength=bins)
            counts[2, 0] += (predicted == labels).count_nonzero()
        predicted, labels, (agree, *_) = counts.tolist()
        return predicted[1:], labels[1:], agree

    def end_epoch(self, all_reduce=None):
        """Add the epoch's passes to the counts (one host sync).

        Parameters
        ----------
        all_reduce : callable or None, default=None
            Sums a tensor across processes in place, for distributed fits.

        Returns
        -------
        changes, counted : int
            Rows whose prediction changed, and rows seen in the epoch.
        """
        passes = self.epoch_pass
        if all_reduce is not None:
            all_reduce(passes)
            all_reduce(self.epoch_margin)
        self.margin += self.epoch_margin
        self.epoch_margin.zero_()
        # In place throughout: no temporary as large as the counts.
        seen = passes > 0
        counted = seen.count_nonzero()  # sum() would cast to int64: 8 bytes a row
        self.wrong += passes
        passes.div_(4, rounding_mode="floor")
        self.wrong.sub_(passes, alpha=4)  # adds passes % 4, the wrong events
        passes.sub_(1)  # now the predictions, -1 where unseen
        seen &= passes != self.last_prediction  # now the rows whose prediction changed
        changes = seen.count_nonzero()
        torch.where(passes < 0, self.last_prediction, passes, out=self.last_prediction)
        passes.zero_()
        changes, counted = torch.stack([changes, counted]).tolist()
        return changes, counted

    def use_verdict(self, table, clean_limit):
        """Weigh rows by a verdict's table and each class's largest clean count.

        Parameters
        ----------
        table : torch.Tensor of shape (n_classes, max_count + 1, 4)
            ``p_0, p_1, F_0, F_1`` of each class at each count.
        clean_limit : torch.Tensor of shape (n_classes,)
            Each class's largest count judged clean.
        """
        self.table, self.clean_limit = table, clean_limit

    def weights(self, rows):
        """``p_0, p_1, F_0, F_1`` of robust-stage rows, from ``table``.

        A row whose prediction in this epoch's pass agrees with its given
        label is weighed at no more than its class's largest clean count:
        a flagged row is not fitted to its label, so the network predicting
        that label anyway is evidence from the other rows that it is right.
        """
        labels = self.labels[rows]
        counts = self.counts(rows)
        agrees = self.epoch_pass[rows] // 4 - 1 == labels
        counts = torch.where(agrees, torch.minimum(counts, self.clean_limit[labels]), counts)
        counts = counts.clamp(max=self.table.shape[1] - 1).long()
        return self.table[labels.long(), counts].unbind(dim=1)


class IdoContext(FitContext):
    """Scratch state of one fit of the two stages, dropped when ``fit`` returns."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.n_rows = len(self.codes)
        self.tracker = WrongEventTracker(self.codes)
        self.stage = 1
        self.epoch = 0
        self.epochs_done = 0  # epochs whose passes are in the counts
        self.prediction_changes = []
        self.base_epoch = 0
        self.base_state = None
        self.base_margin = None  # the label margins summed up to the base epoch
        self.learned_epoch = None  # the first epoch whose predictions beat chance
        self.views = None
        self.mixture = self.verdict = None
        self.dataset = None  # every user row, and the module's forward parameters,
        self.forward_params = {}  # for the final prediction of every row
        self.initial_lrs = None
        self.detection_auroc = None
        self.strength = 1.0  # the share of the flagged rows the robust stage acts on
        self.evidence = np.nan  # evidence_strength at the end of the warm-up
        self.plain = False  # whether training went on plainly after the warm-up
        self.warmup_counts = None  # the counts at the switch, in case the base model is restored
        self.agreements = None  # the base and the robust network's, where the base was restored

    def judged(self, values):
        """The entries of ``values`` (a per-row tensor) for the rows trained on, as an array.

        Rows that ``train_split`` holds out for validation are not trained
        on, so they have no wrong events to judge them by.
        """
        values = values.cpu().numpy()
        return values if self.row_map is None else values[self.row_map.numpy()]

    def average_margin(self):
        """Each judged row's label margin averaged over the epochs counted, as an array."""
        return self.judged(self.tracker.margin) / max(self.epochs_done, 1)

    def held_out(self):
        """A mask of the rows ``train_split`` held out for validation, or None if none were."""
        if self.row_map is None:
            return None
        mask = np.ones(self.n_rows, dtype=bool)
        mask[self.row_map.numpy()] = False
        return mask


def label_margin(logits, labels):
    """How much more probable each row's given label is than any other class, in [-1, 1].

    The area under these margins over training ranks wrong labels finely:
    a wrong label is out-voted by the true class from the first epochs on,
    while a hard but right one is merely unsure.

    Parameters
    ----------
    logits : torch.Tensor of shape (n_rows, n_classes)
    labels : torch.Tensor of shape (n_rows,)
        Given labels (class codes).

    Returns
    -------
    margin : torch.Tensor of shape (n_rows,)
        ``p[label] - max(p[other classes])`` of the softmax probabilities.

    Examples
    --------
    >>> import torch
    >>> from skwrongevent import label_margin
    >>> label_margin(torch.tensor([[2.0, 0.0], [2.0, 0.0]]), torch.tensor([0, 1])).round(decimals=2)
    tensor([ 0.7600, -0.7600])
    """
    proba = logits.detach().float().softmax(dim=1)
    labels = labels.long()[:, None]
    given = proba.gather(1, labels)[:, 0]
    return given - proba.scatter(1, labels, -1.0).max(dim=1).values


def select_base_epoch(prediction_changes, first_epoch=1):
    """The warm-up epoch whose weights become the base model.

    The first local minimum of the prediction-change curve: the last epoch
    of its first strictly decreasing run, or the last epoch if it never
    stops decreasing. A curve that first rises (the network still leaving
    its initial, near-constant predictions) is read from its first peak.

    Parameters
    ----------
    prediction_changes : array-like of shape (n_epochs - 1,)
        Rows whose prediction changed at epochs 2, 3, ..., n_epochs.
    first_epoch : int, default=1
        The curve is read from this epoch on: the changes into it and into
        earlier epochs are skipped (:class:`WrongEventClassifier` passes
        the first epoch whose predictions beat chance).

    Returns
    -------
    epoch : int
        1-based epoch; 1 when there is no curve.

    Examples
    --------
    >>> from skwrongevent import select_base_epoch
    >>> select_base_epoch([90, 40, 30, 35, 20])
    4
    >>> select_base_epoch([50, 80, 40, 30, 35])
    5
    >>> select_base_epoch([90, 40, 30, 35, 20, 10, 12], first_epoch=4)
    7
    """
    skipped = first_epoch - 1
    changes = list(prediction_changes)[skipped:]
    start = 0
    while start + 1 < len(changes) and changes[start + 1] >= changes[start]:
        start += 1
    for i in range(start + 1, len(changes)):
        if changes[i] >= changes[i - 1]:
            return skipped + i + 1
    return skipped + len(changes) + 1


def robust_loss(
    logits_weak,
    logits_strong,
    labels,
    clean,
    noisy,
    clean_cdf,
    noisy_cdf,
    sample_weight=None,
    consistency="logits",
):
    """IDO's per-row loss over a weak and a strong view, averaged over the batch.

    Per row: ``p_0 (CE_weak + CE_strong)`` + ``eps * C(weak, strong)`` with
    ``eps = p_0 F_0 + (1 - p_1)(1 - F_1)``, + ``(1 - p_0) conf H`` where ``H``
    is the entropy and ``conf`` the largest probability of the two views'
    mean prediction. There are no coefficients to tune.

    The consistency ``C`` is the paper's mean squared difference of the
    logits, or the squared difference of the softmax probabilities (between
    0 and 2). The first grows with the network's confidence: two crops of an
    image that a network trained without crops assigns to the same class
    with certainty can differ by several units in every logit, and the
    cheapest way to lower the term is to shrink all logits. The second
    compares only what the views predict, so images use it.

    Parameters
    ----------
    logits_weak, logits_strong : torch.Tensor of shape (batch_size, n_classes)
        Logits of the two views.
    labels : torch.Tensor of shape (batch_size,)
        Given labels (class codes).
    clean, noisy, clean_cdf, noisy_cdf : torch.Tensor of shape (batch_size,)
        Mixture posteriors ``p_0``, ``p_1`` and CDFs ``F_0``, ``F_1`` of
        each row; treated as constants.
    sample_weight : torch.Tensor of shape (batch_size,) or None, default=None
        Weight of each row's loss.
    consistency : {"logits", "probabilities"}, default="logits"
        What the consistency term compares.

    Returns
    -------
    loss : torch.Tensor
        The (weighted) mean of the per-row losses.

    Examples
    --------
    >>> import torch
    >>> from skwrongevent import robust_loss
    >>> z = torch.zeros(2, 3)
    >>> ones, zeros = torch.ones(2), torch.zeros(2)
    >>> round(float(robust_loss(z, z, torch.tensor([0, 1]), ones, zeros, zeros, zeros)), 4)
    2.1972
    """
    clean, noisy, clean_cdf, noisy_cdf = (
        weight.detach() for weight in (clean, noisy, clean_cdf, noisy_cdf)
    )
    cross_entropy = F.cross_entropy(logits_weak, labels, reduction="none") + F.cross_entropy(
        logits_strong, labels, reduction="none"
    )
    proba_weak, proba_strong = logits_weak.softmax(dim=1), logits_strong.softmax(dim=1)
    consistency_weight = clean * clean_cdf + (1 - noisy) * (1 - noisy_cdf)
    if consistency == "logits":
        difference = ((logits_weak - logits_strong) ** 2).mean(dim=1)
    elif consistency == "probabilities":
        difference = ((proba_weak - proba_strong) ** 2).sum(dim=1)
    else:
        raise ValueError(f"consistency must be 'logits' or 'probabilities', got {consistency!r}.")
    mean_proba = ((proba_weak + proba_strong) / 2).clamp(1e-4, 1 - 1e-4)
    confidence = mean_proba.max(dim=1).values
    entropy = -(mean_proba * mean_proba.log()).sum(dim=1)
    per_row = clean * cross_entropy + consistency_weight * difference
    per_row = per_row + (1 - clean) * confidence * entropy
    if sample_weight is not None:
        per_row = per_row * sample_weight
    return per_row.mean()
