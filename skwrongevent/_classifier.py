"""WrongEventClassifier: the IDO method as a skorch classifier."""

import math
import warnings
from numbers import Real

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from skorch.callbacks import LRScheduler
from skorch.dataset import unpack_data

from ._base import FitContext, NetClassifier, first_output
from ._data import to_device
from ._ido import WrongEventTracker, label_margin, robust_loss, select_base_epoch
from ._mixture import WrongEventVerdict, _chunks
from ._report import LabelIssuesMixin
from ._views import ImageViews, TabularViews

FINAL_LR_FACTOR = 0.1
MIN_WARMUP_EPOCHS = 3
# Below this side, a one-pixel crop offset or a rotation resamples most of an image: on 8 x 8
# digits the default views cost 9-21 points of accuracy on clean labels.
MIN_VIEW_SIDE = 16
# Views guard against memorising wrong labels. Where the warm-up finds fewer, they only add
# risk: on clean tables (0-4% flagged) they cost up to 5 points, on MNIST with 0.5-3% wrong
# labels about 1 point.
MIN_FLAGGED_FOR_VIEWS = 0.05
# A network has learned once its training predictions agree with the given labels more often
# than predictions independent of the rows would, by this many standard deviations.
MIN_AGREEMENT_Z = 2


class _IdoContext(FitContext):
    """Scratch state of one fit of the two stages, dropped when ``fit`` returns."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tracker = WrongEventTracker(self.codes)
        self.stage = 1
        self.epoch = 0
        self.prediction_changes = []
        self.base_epoch = 0
        self.base_state = None
        self.learned_epoch = None  # the first epoch whose predictions beat chance
        self.views = None
        self.verdict = None
        self.dataset = None  # the dataset of every row and the module's forward parameters,
        self.forward_params = {}  # for the final prediction of every row
        self.initial_lrs = None
        self.network_is_base = False  # whether the fitted network is the base model
        self.warmup_counts = None  # the wrong events at the end of the warm-up
        self.robust_kept = True  # False where the base model replaced the robust network
        self.agreement = None  # the base and the robust network's, see _keep_better_network

    def judged(self, values):
        """The entries of ``values`` (a per-row tensor) for the rows trained on, as an array.

        Rows that ``train_split`` holds out for validation are not trained
        on, so they have no wrong events to judge them by.
        """
        values = values.cpu().numpy()
        return values if self.row_map is None else values[self.row_map.numpy()]

    def held_out(self):
        """A mask of the rows ``train_split`` held out for validation, or None if none were."""
        if self.row_map is None:
            return None
        mask = np.ones(len(self.codes), dtype=bool)
        mask[self.row_map.numpy()] = False
        return mask


class WrongEventClassifier(LabelIssuesMixin, NetClassifier):
    """Neural network classifier that is robust to wrong training labels.

    Implements IDO (Zhang et al., NeurIPS 2025) on :class:`NetClassifier`,
    skorch's classifier with scikit-learn's manners. ``fit`` runs two stages
    over ``max_epochs``:

    1. **Warm-up** (``warmup_fraction`` of the epochs): plain training that
       counts, for every row, its *wrong events*: how often the prediction
       in a training forward pass disagrees with the given label. The *base
       model* is a copy of the weights at the first local minimum of the
       number of rows whose prediction changed between epochs
       (:meth:`select_base_epoch`).
    2. **Robust training** from the base model: a two-component beta mixture
       on the counts gives each row a clean probability and a difficulty,
       and the loss over a weak and a strong view of each row weights a
       cross-entropy, a consistency and an entropy term per row by these,
       with no coefficients to tune (:meth:`get_robust_loss`). The verdict
       is refitted after every epoch on the updated counts. A flagged row
       is not fitted to its label, so when the network predicts that label
       anyway, the other rows vouch for it: it is weighed, and judged, as
       a clean row at its class's largest clean count. Where no robust
       epoch runs, the base model vouches the same way if it predicts most
       of the flagged rows as their labels (it learned them late), or, in a
       class the counts mostly flag, most of that class's flagged rows.
       Where the robust network ends predicting the rows judged clean as
       their labels clearly less often than the base model (mean over
       classes), it has undone what it started from: the base model is
       restored, with a warning, and the rows are judged by the warm-up's
       counts.

    Batches, callbacks, datasets, samplers, ``LRScheduler`` callbacks and
    ``sample_weight`` work as in skorch; the row each count belongs to is
    tracked out of sight.

    Parameters
    ----------
    module : torch module class or instance, default=None
        The network; it must return one logit per class. ``None`` builds
        an :class:`MLP` sized from the data, which standardises its inputs.
    warmup_fraction : float in (0, 1], default=0.25
        Least share of ``max_epochs`` spent in the warm-up (at least one
        epoch; fewer than 3 warm-up epochs warn). The warm-up goes on, up to
        ``max_epochs``, while the network's training predictions agree with
        the given labels no better than chance, and then while the
        prediction-change curve is still falling: until then the network is
        still learning, and its counts cannot tell a wrong label from a row
        not learned yet. ``1.0`` skips robust
        training: the fitted network is the base model and the verdict
        comes from the warm-up counts and its predictions.
    mixture : {"global", "per_class"}, default="global"
        One beta mixture for all rows, or one per given class (the paper's
        choice). The global one matched or beat the per-class one in our
        benchmarks on tabular data and does not flag the clean rows of
        easy classes when labels are nearly clean.
    views : "auto", None, estimator or (callable, callable), default="auto"
        How the robust stage makes the weak and strong view of a batch.
        ``"auto"`` uses :class:`ImageViews` for images (channels, height,
        width) of at least 16 pixels a side and :class:`TabularViews` for
        rows of features, when the warm-up's verdict flags at least 5% of
        the rows, and the rows themselves otherwise: views guard against
        memorising wrong labels, and where there are few, they only add
        risk (on clean imbalanced tables or sharp class boundaries they
        cost up to 5 points, on MNIST with 0.5-3% wrong labels about 1).
        Smaller images, where resampling changes most pixels, and other
        input (dicts, sequences, integer token ids) use the rows
        themselves. ``None`` uses the batch
        itself for both. An estimator with ``weak`` and
        ``strong`` methods is cloned and fitted on a sample of the training
        rows; a pair of callables is used as is. Each maps a batch (tensor,
        or dict of tensors for dict input) to a batch on the same device.
    **kwargs
        Every parameter of :class:`NetClassifier` (``criterion``,
        ``train_split``, ``optimizer``, ``lr``, ``max_epochs``, ``batch_size``, ``device``,
        ``classes``, ``class_weight``, ``mixed_precision``,
        ``random_state``, ``verbose``) and of skorch's
        ``NeuralNetClassifier`` (``callbacks``, ``dataset``,
        ``iterator_train__*``, ``module__*``, ``optimizer__*``, ...).
        ``lr`` is constant during the warm-up, then cosine-annealed to a
        tenth over the robust stage, unless a ``LRScheduler`` callback sets
        it; the robust stage resets the optimizer's state. Rows that
        ``train_split`` holds out for validation (skorch's ``ValidSplit``)
        are not trained on, so not judged: their per-row statistics below
        are NaN (0 wrong events), and ``noise_mask_`` is False for them.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    wrong_events_ : ndarray of shape (n_rows,), dtype=int32
        Wrong-event count of each training row at the end of training (of
        the warm-up, where the base model was restored).
    sample_cleanliness_ : ndarray of shape (n_rows,), dtype=float32
        Probability that each row's label is right.
    sample_difficulty_ : ndarray of shape (n_rows,), dtype=float32
        Where each row sits inside the clean component, in [0, 1]: 0 for
        rows never wrong, near 1 for rows wrong as often as the hardest
        clean rows.
    noise_mask_ : ndarray of shape (n_rows,), dtype=bool
        ``sample_cleanliness_ < 0.5``: the rows whose label is judged wrong.
    sample_margin_ : ndarray of shape (n_rows,), dtype=float32
        Each row's :func:`label_margin` averaged over its training passes,
        in [-1, 1]: a finer ranking than the counts, lowest most likely
        wrong. Reports and :func:`find_label_issues` order the rows in
        ``noise_mask_`` by it.
    given_labels_ : ndarray of shape (n_rows,)
        Each training row's label as given.
    predicted_labels_ : ndarray of shape (n_rows,)
        The fitted network's prediction of each training row (as
        ``predict`` gives it).
    mixture_ : BetaMixture
        The final mixture on all judged rows' counts.
    class_mixtures_ : list of BetaMixture or None
        With ``mixture="per_class"``, the mixture each class used.
    capped_classes_ : ndarray
        Classes most of whose rows the final verdict would flag; only the
        rows above each one's median count stay flagged (see
        :class:`WrongEventVerdict`).
    withheld_classes_ : ndarray
        Capped classes the network also rarely predicts, more likely not
        learned than mislabelled; their rows count as clean.
    views_ : estimator, (callable, callable) or None
        The views the robust stage used: a fitted clone of the views
        estimator, the given pair, or None. Absent without a robust stage.
    prediction_changes_ : ndarray of shape (warmup_epochs_ - 1,)
        Rows whose warm-up prediction changed, for epochs 2, 3, ...
    base_epoch_ : int
        Warm-up epoch whose weights started robust training (and are the
        fitted network's, where the base model was restored).
    warmup_epochs_, robust_epochs_ : int
        Epochs run in each stage.
    n_features_in_, feature_names_in_, input_shape_, module_, history_
        As in :class:`NetClassifier`; the history also records ``stage``
        and ``prediction_change``.

    See Also
    --------
    NetClassifier : the same network trained plainly.
    WrongEventCleaner : drops the rows this model judges mislabelled.
    WrongEventVerdict : the verdict on the counts.

    Notes
    -----
    The two views of a batch go through the network one after the other
    with the same random state, so a dropout network drops the same units
    for both: the consistency term then measures what the views change,
    not dropout noise (with it, the term rewarded shrinking all logits
    towards a constant prediction). Batch-normalisation statistics are
    computed per view.

    References
    ----------
    .. [1] Zhang et al., "Handling Label Noise via Instance-Level Difficulty
       Modeling and Dynamic Optimization", NeurIPS 2025, arXiv:2505.00812.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skwrongevent import WrongEventClassifier, inject_label_noise
    >>> X, y = load_iris(return_X_y=True)
    >>> y_noisy, is_wrong = inject_label_noise(y, 0.2, random_state=0)
    >>> clf = WrongEventClassifier(max_epochs=20, lr=1e-2, random_state=0)
    >>> clf = clf.fit(X, y_noisy)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> clf.noise_mask_.shape, clf.sample_cleanliness_.shape
    ((150,), (150,))
    """

    _parameter_constraints = {
        **NetClassifier._parameter_constraints,
        "warmup_fraction": [Interval(Real, 0, 1, closed="right")],
        "mixture": [StrOptions({"global", "per_class"})],
        "views": [StrOptions({"auto"}), None, tuple, HasMethods(["weak", "strong"])],
    }

    _all_reduce = None  # sums a tensor across processes in place, in distributed fits

    def __init__(
        self, module=None, *, warmup_fraction=0.25, mixture="global", views="auto", **kwargs
    ):
        super().__init__(module, **kwargs)
        self.warmup_fraction = warmup_fraction
        self.mixture = mixture
        self.views = views

    # ------------------------------------------------------------------
    # The two stages
    # ------------------------------------------------------------------

    def get_split_datasets(self, X, y=None, **fit_params):
        dataset_train, dataset_valid = super().get_split_datasets(X, y, **fit_params)
        held_out = self._fit_context.row_map is not None  # then dataset_train is a Subset
        self._fit_context.dataset = dataset_train.dataset if held_out else dataset_train
        return dataset_train, dataset_valid

    def _check_params(self):
        super()._check_params()
        views = self.views
        if isinstance(views, tuple) and not (len(views) == 2 and all(map(callable, views))):
            raise ValueError(f"views must be a pair of callables (weak, strong), got {views!r}.")

    def _make_fit_context(self, X, codes, weights, context_class=_IdoContext):
        context = super()._make_fit_context(X, codes, weights, context_class)
        context.warmup_epochs = min(
            self.max_epochs, max(1, round(self.warmup_fraction * self.max_epochs))
        )
        context.robust_epochs = self.max_epochs - context.warmup_epochs
        context.verdict = WrongEventVerdict(
            self.mixture, len(self.classes_), context.warmup_epochs + 2 * context.robust_epochs
        )
        return context

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's epoch loop over both stages; ``epochs`` is ignored.

        After the last warm-up epoch the rows are judged (``_end_epoch``),
        and the first robust epoch starts from the base model
        (``_begin_epoch``).
        """
        return super().fit_loop(X, y, epochs=self.max_epochs, **fit_params)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if training:
            self._fit_context.forward_params = fit_params
            self._begin_epoch()
        super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        if training:
            self._end_epoch()

    def _begin_epoch(self):
        context = self._fit_context
        context.epoch += 1
        if context.epoch == context.warmup_epochs + 1:
            self._start_robust_stage()
        self.history.record("stage", context.stage)
        if context.stage == 2 and context.initial_lrs is not None:
            self._anneal_learning_rate(context.epoch - context.warmup_epochs - 1, context)

    def _end_epoch(self):
        context = self._fit_context
        changes, counted = context.tracker.end_epoch(self._all_reduce)
        self.history.record("prediction_change", changes)
        self.history.record("rows_counted", counted)
        if context.stage == 1:
            self._keep_base_model(context)
            if context.epoch == context.warmup_epochs == context.base_epoch < self.max_epochs:
                # The prediction-change curve is still falling: the network is still learning
                # the rows, so a count now cannot tell a wrong label from a row not learned yet,
                # and there is no memorisation for the base model to undo. Count on.
                context.warmup_epochs += 1
                context.robust_epochs -= 1
        if context.stage == 2 or context.epoch == context.warmup_epochs:
            self._judge_rows()

    def _keep_base_model(self, context):
        if context.epoch > 1:
            context.prediction_changes.append(self.history[-1, "prediction_change"])
        if context.learned_epoch is None and self._beats_chance(context):
            context.learned_epoch = context.epoch
        if self.select_base_epoch(np.asarray(context.prediction_changes)) == context.epoch:
            context.base_epoch = context.epoch
            context.base_state = self._component_states()

    def _beats_chance(self, context):
        """Whether the last training predictions agree with the given labels beyond chance.

        Predictions independent of the rows (a constant predictor, or one
        that guesses) agree with a label as often as the predicted classes'
        shares times the labels' shares say; the network must beat that by
        ``MIN_AGREEMENT_Z`` binomial standard deviations. Counted on the
        device in chunks of rows, so that no temporary grows with the data.
        """
        tracker, bins = context.tracker, len(self.classes_) + 1  # bin 0: rows not seen
        counts = torch.zeros((3, bins), dtype=torch.int64, device=tracker.labels.device)
        for part in _chunks(len(tracker.labels)):
            predicted, labels = tracker.last_prediction[part], tracker.labels[part]
            counts[0] += torch.bincount(predicted + 1, minlength=bins)
            counts[1] += torch.bincount(torch.where(predicted < 0, -1, labels) + 1, minlength=bins)
            counts[2, 0] += (predicted == labels).count_nonzero()
        predicted, labels, (agree, *_) = counts.tolist()
        counted = sum(predicted[1:])
        chance = np.dot(predicted[1:], labels[1:]) / max(counted, 1) ** 2
        spread = math.sqrt(counted * chance * (1 - chance))
        return agree - counted * chance > MIN_AGREEMENT_Z * spread

    def _component_states(self):
        """A copy of the weights of every module and criterion skorch knows of."""
        return {
            name: {
                key: tensor.detach().clone()
                for key, tensor in getattr(self, name + "_").state_dict().items()
            }
            for name in (*self._modules, *self._criteria)
        }

    def _load_component_states(self, states):
        for name, state in states.items():
            getattr(self, name + "_").load_state_dict(state)

    def select_base_epoch(self, prediction_changes):
        """The warm-up epoch whose weights start robust training; override to change the rule.

        Called after every warm-up epoch with the curve so far; the weights
        of the epoch it returns are kept.

        Parameters
        ----------
        prediction_changes : ndarray of shape (n_epochs - 1,)
            Rows whose prediction changed at epochs 2, 3, ...

        Returns
        -------
        epoch : int
            See :func:`select_base_epoch`. Until the network's training
            predictions agree with the given labels beyond chance, the
            current epoch: a network that has not learned has nothing for a
            wrong label to spoil, and its prediction changes are the churn of
            guessing, so the warm-up goes on. The curve is read from the
            first epoch that beats chance.
        """
        context = getattr(self, "_fit_context", None)
        first_epoch = 1 if context is None else context.learned_epoch
        if first_epoch is None:
            return len(prediction_changes) + 1
        return select_base_epoch(prediction_changes, first_epoch)

    def _judge_rows(self):
        context = self._fit_context
        tracker = context.tracker
        context.verdict.fit(
            context.judged(tracker.wrong),
            context.judged(context.codes),
            context.judged(tracker.last_prediction),
        )
        device = context.codes.device
        context.tracker.use_verdict(
            torch.as_tensor(context.verdict.table_, dtype=torch.float32, device=device),
            torch.as_tensor(context.verdict.clean_limit_, dtype=torch.int32, device=device),
        )

    def _start_robust_stage(self):
        context = self._fit_context
        if context.base_state is not None:
            self._load_component_states(context.base_state)
        context.stage = 2
        # The warm-up's counts, in case the base model is restored (see _keep_better_network).
        counts_type = torch.uint8 if context.warmup_epochs < 256 else torch.int32
        context.warmup_counts = context.tracker.wrong.to(counts_type)
        self.views_ = self._make_views(context)
        context.views = _view_functions(self.views_)
        self.optimizer_.state.clear()  # a fresh optimizer, still the same object
        user_schedules = any(isinstance(cb, LRScheduler) for _, cb in self.callbacks_)
        if not user_schedules:
            context.initial_lrs = [group["lr"] for group in self.optimizer_.param_groups]

    def _anneal_learning_rate(self, epoch, context):
        """Cosine schedule from each group's rate at the stage's start down to a tenth of it."""
        progress = 0.5 * (1 + math.cos(math.pi * epoch / context.robust_epochs))
        factor = FINAL_LR_FACTOR + (1 - FINAL_LR_FACTOR) * progress
        for group, start in zip(self.optimizer_.param_groups, context.initial_lrs, strict=True):
            group["lr"] = start * factor

    def _make_views(self, context):
        """The views of the robust stage: None, the user's pair, or a fitted estimator."""
        views = self.views
        if views is None or isinstance(views, tuple):
            return views
        if isinstance(views, str):
            views = self._default_views(context)
            if views is None:
                return None
        views = clone(views)
        if hasattr(views, "fit"):
            views.fit(*context.sample())
        return views

    def _default_views(self, context):
        shape = self.input_shape_
        if shape is None or np.issubdtype(getattr(context.X, "dtype", np.float32), np.integer):
            return None  # dict input, and token ids, for which no view keeps an index's meaning
        if len(shape) == 1:
            views = TabularViews()
        elif len(shape) == 3 and min(shape[1:]) >= MIN_VIEW_SIDE:
            views = ImageViews()
        else:
            return None  # sequences, small images: the rows themselves
        counts, codes = context.judged(context.tracker.wrong), context.judged(context.codes)
        flagged = np.mean(context.verdict.cleanliness(counts, codes) < 0.5)
        return views if flagged >= MIN_FLAGGED_FOR_VIEWS else None

    def _finish_fit(self):
        context = self._fit_context
        context.tracker.end_epoch(self._all_reduce)  # the passes of an interrupted epoch
        if context.stage == 1:
            self.views_ = None
        self._judge_rows()
        if not context.robust_epochs and context.base_state is not None:
            self._load_component_states(context.base_state)
        context.network_is_base = context.stage == 1 and (
            not context.robust_epochs or context.base_epoch == context.epoch
        )
        self._set_row_statistics(context)
        self._warn_about_verdict(context)

    def _set_row_statistics(self, context):
        tracker = context.tracker
        codes = context.codes.cpu().numpy()
        # Per-row results as small as they can be: label codes in the smallest integer type,
        # decoded on access, and the tracker's counters released as soon as they are read.
        code_type = np.min_scalar_type(len(self.classes_))
        self._given_codes = codes.astype(code_type)
        tracker.last_prediction = tracker.epoch_pass = tracker.epoch_margin = None
        self._predicted_codes = self._predict_training_rows(context, code_type)
        if context.stage == 2 and context.base_state is not None:
            self._keep_better_network(context, code_type)
        verdict = context.verdict
        self.sample_margin_ = tracker.margin.div_(max(context.epoch, 1)).cpu().numpy()
        tracker.margin = None
        self.wrong_events_ = counts = tracker.wrong.cpu().numpy()
        # As in the robust loss (see WrongEventTracker.weights), a flagged row that the final
        # network predicts as its label is clean, if that network has not memorised labels.
        # After robust training it was not fitted to them; see _base_model_vouches otherwise.
        vouching = (
            True
            if context.stage == 2 and context.robust_kept
            else self._base_model_vouches(context, counts, codes)
        )
        predicted = None
        if np.all(vouching):
            predicted = self._predicted_codes
        elif np.any(vouching):
            predicted = np.where(vouching[codes], self._predicted_codes, -1)
        self.sample_cleanliness_ = verdict.cleanliness(counts, codes, predicted)
        self.sample_difficulty_ = verdict.difficulty(counts, codes, predicted)
        if context.learned_epoch is None:  # a guess is as often wrong for a right label
            self.sample_cleanliness_[:] = 1.0
        held_out = context.held_out()
        if held_out is not None:  # rows held out for validation are not judged
            for values in (self.sample_cleanliness_, self.sample_difficulty_, self.sample_margin_):
                values[held_out] = np.nan
        self.noise_mask_ = self.sample_cleanliness_ < 0.5
        self.mixture_ = verdict.mixture_
        self.class_mixtures_ = verdict.class_mixtures_
        self.capped_classes_ = self.classes_[verdict.capped_classes_]
        self.withheld_classes_ = self.classes_[verdict.withheld_classes_]
        self.prediction_changes_ = np.asarray(context.prediction_changes, dtype=np.int64)
        self.base_epoch_ = context.base_epoch
        self.warmup_epochs_ = min(context.epoch, context.warmup_epochs)
        self.robust_epochs_ = context.epoch - self.warmup_epochs_

    def _base_model_vouches(self, context, counts, codes):
        """Which classes' rows a warm-up-only fit's network may vouch for.

        It must be the base model (the last epoch before the prediction-change
        curve stopped falling, or the weights reloaded from it), and it must
        predict most of the rows that the counts flag as their labels. A network
        that learned most of them while fewer of its predictions changed every
        epoch learned them late, as hard rows are learned; had it memorised
        wrong labels, they would churn. Where it predicts fewer, the ones it
        does may be wrong labels memorised early, which happens with many wrong
        labels, so the counts decide, except in a class the counts mostly flag
        while the network predicts most of its flagged rows as the class: no
        class's labels can be mostly wrong, so that class was learned late.

        Returns
        -------
        vouching : ndarray of shape (n_classes,), dtype=bool
        """
        n_classes = len(self.classes_)
        if not context.network_is_base:  # a warm-up interrupted after its base epoch
            return np.zeros(n_classes, dtype=bool)
        flagged = context.verdict.cleanliness(counts, codes) < 0.5
        learned = self._predicted_codes == codes
        if not flagged.any() or learned[flagged].mean() > 0.5:
            return np.ones(n_classes, dtype=bool)
        rows = np.bincount(codes, minlength=n_classes)
        flagged_rows = np.bincount(codes[flagged], minlength=n_classes)
        learned_rows = np.bincount(codes[flagged & learned], minlength=n_classes)
        return (flagged_rows > rows / 2) & (learned_rows > flagged_rows / 2)

    def _keep_better_network(self, context, code_type):
        """Restore the base model if it fits the rows judged clean better than the robust network.

        Robust training fits the rows judged clean to their labels, so it
        must end agreeing with them at least as well as the base model it
        started from, class by class (the mean over classes of the
        clean-probability-weighted share predicted as the label, so that a
        network that gave up a rare class is not excused by the common
        ones). Where the base model leads by more than chance would give
        (:func:`_compare_agreements`), the robust stage has lost what the
        base model knew: the fresh optimizer at the full learning rate can
        throw a well-trained network off its minimum, down to a constant
        prediction. Near a tie, the robust network stays. The rows are
        then judged as after a warm-up-only fit, by the warm-up's counts
        (the robust network's wrong events are its own failure) and the base
        model's predictions. The comparison costs one more inference pass
        over the training rows.
        """
        verdict, codes = context.verdict, context.codes.cpu().numpy()
        trusted = verdict.cleanliness(context.tracker.wrong.cpu().numpy(), codes)
        held_out = context.held_out()
        if held_out is not None:  # rows held out for validation are not judged
            trusted[held_out] = 0.0
        robust_state = self._component_states()
        self._load_component_states(context.base_state)
        base = self._predict_training_rows(context, code_type)
        context.agreement, base_is_better = _compare_agreements(
            base, self._predicted_codes, codes, trusted, len(self.classes_)
        )
        if not base_is_better:
            self._load_component_states(robust_state)
            return
        self._predicted_codes = base
        context.robust_kept = False
        context.network_is_base = True
        context.tracker.wrong = context.warmup_counts.to(torch.int32)
        context.verdict = WrongEventVerdict(self.mixture, len(self.classes_), verdict.max_count)
        context.verdict.fit(
            context.judged(context.tracker.wrong),
            context.judged(context.codes),
            context.judged(torch.as_tensor(base)),
        )

    def _predict_training_rows(self, context, code_type):
        """The fitted network's prediction of each training row, as class codes.

        One pass in evaluation mode over the training set, on the rows
        themselves (no views), as ``predict`` would answer: a flagged row is
        not fitted to its label, so this prediction is the rest of the
        data's opinion of it. Only the codes are kept, in ``code_type``.
        """
        if not context.epoch:
            return self._given_codes.copy()
        self._set_training(False)
        predicted = np.empty(len(self._given_codes), dtype=code_type)
        start = 0
        with torch.no_grad():
            for batch in self.get_iterator(context.dataset, training=False):
                logits = first_output(self.infer(unpack_data(batch)[0], **context.forward_params))
                codes = self._gather(logits.argmax(dim=1)).cpu().numpy()
                predicted[start : start + len(codes)] = codes
                start += len(codes)
        return predicted

    def _gather(self, tensor):
        """A batch's per-row results from every process (one process: the tensor itself)."""
        return tensor

    def _warn_about_verdict(self, context):
        # stacklevel=6 names the caller of fit or partial_fit: warn <- this <- _finish_fit <-
        # NetClassifier._train <- LabelIssuesMixin._train <- fit.
        if 0 < self.warmup_epochs_ < MIN_WARMUP_EPOCHS:
            warnings.warn(
                f"The warm-up had {self.warmup_epochs_} epoch(s), too few to tell wrong labels "
                "from rows not learned yet. Raise max_epochs or warmup_fraction so that it has "
                f"at least {MIN_WARMUP_EPOCHS}.",
                UserWarning,
                stacklevel=6,
            )
        if context.row_map is not None:
            warnings.warn(
                f"train_split held out {len(self._given_codes) - len(context.row_map)} of "
                f"{len(self._given_codes)} rows for validation. They are not trained on, so "
                "they are not judged: their sample_cleanliness_, sample_difficulty_ and "
                "sample_margin_ are NaN and noise_mask_ is False. Use train_split=None to "
                "judge every row, or skorch.helper.predefined_split(valid_dataset) to "
                "validate on other rows.",
                UserWarning,
                stacklevel=6,
            )
        if context.verdict.degenerate_:
            warnings.warn(
                f"Every training row has {context.judged(context.tracker.wrong)[0]} wrong "
                "events: no evidence of label noise, every row is treated as clean.",
                UserWarning,
                stacklevel=6,
            )
        still_changing = self.prediction_changes_.size and self.prediction_changes_[-1] > 0
        if context.learned_epoch is None:
            warnings.warn(
                f"In all {context.epoch} epochs the network's training predictions agreed with "
                "the given labels no more often than chance (predictions that ignore the "
                "rows) would: it has not learned, so it cannot judge the labels, and every row "
                "is treated as clean. Raise lr or max_epochs, or check that the features are "
                "scaled.",
                UserWarning,
                stacklevel=6,
            )
        elif (
            self.warmup_fraction < 1
            and self.base_epoch_ == self.warmup_epochs_ == self.max_epochs
            and still_changing
        ):
            warnings.warn(
                f"The network was still learning after all {self.max_epochs} epochs (fewer "
                "rows change prediction every epoch), so no robust training ran and the "
                "verdict cannot tell wrong labels from rows not learned yet. Raise max_epochs "
                "or lr.",
                UserWarning,
                stacklevel=6,
            )
        if not context.robust_kept:
            base, robust = context.agreement
            warnings.warn(
                "Robust training ended predicting the rows judged clean as their labels less "
                "often than the base model it started from, by more than chance explains (mean "
                f"over classes {robust:.3f} against {base:.3f}), so the base model (epoch "
                f"{self.base_epoch_}) is kept. The robust stage restarts the optimizer at the "
                "full lr, which can throw a well-trained network off its minimum: lower lr, or "
                "check the training loss in history_.",
                UserWarning,
                stacklevel=6,
            )
        capped = [c for c in self.capped_classes_.tolist() if c not in self.withheld_classes_]
        if capped:
            warnings.warn(
                f"Judging by wrong events, most rows of classes {capped} are mislabelled, which "
                "no class's labels can be: only the rows above each one's median count are "
                "flagged. Check these classes' labels, or train longer if they are hard.",
                UserWarning,
                stacklevel=6,
            )
        if len(self.withheld_classes_):
            warnings.warn(
                f"Judging by wrong events, most rows of classes {self.withheld_classes_.tolist()} "
                "are mislabelled, and the network rarely predicts these classes: more likely "
                "it has not learned them (hard, rare, or too few epochs), so their rows are "
                "treated as clean. Train longer or with a higher lr, try "
                "class_weight='balanced', or check these classes' labels by hand.",
                UserWarning,
                stacklevel=6,
            )

    @property
    def given_labels_(self):
        return self.classes_[self._given_codes]

    @property
    def predicted_labels_(self):
        return self.classes_[self._predicted_codes]

    # ------------------------------------------------------------------
    # Training steps
    # ------------------------------------------------------------------

    def train_step_single(self, batch, **fit_params):
        context = self._fit_context
        if context.stage == 1:
            step = super().train_step_single(batch, **fit_params)
            # An optimizer that evaluates a step several times (LBFGS) overwrites its own
            # record: each row is counted once per epoch.
            logits = self._logits(first_output(step["y_pred"]).detach())
            context.tracker.record_warmup(
                logits.argmax(dim=1), context.rows, label_margin(logits, context.batch_codes())
            )
            return step
        return self._robust_step(batch, **fit_params)

    def _robust_step(self, batch, **fit_params):
        context = self._fit_context
        self._set_training(True)
        device = context.codes.device
        Xi = to_device(unpack_data(batch)[0], device)
        weak, strong = context.views
        if weak is strong is _identity:  # no views: the second pass would repeat the first
            y_pred = output_strong = self.infer(Xi, **fit_params)
        else:
            X_weak, X_strong = weak(Xi), strong(Xi)
            # Both views see the same dropout masks (and any other randomness in the module),
            # so the consistency term compares views and cannot be lowered by shrinking the
            # logits.
            replay = _replayable_randomness(device)
            y_pred = self.infer(X_weak, **fit_params)
            replay()
            output_strong = self.infer(X_strong, **fit_params)
        self._check_output(y_pred)
        # A module with several outputs is trained on the first, the one predict reads.
        logits_weak = self._logits(first_output(y_pred))
        logits_strong = (
            logits_weak if output_strong is y_pred else self._logits(first_output(output_strong))
        )
        codes = context.batch_codes()
        context.tracker.record_robust(
            logits_weak.detach().argmax(dim=1),
            logits_strong.detach().argmax(dim=1),
            context.rows,
            label_margin(logits_weak, codes),
        )
        loss = self.get_robust_loss(
            logits_weak,
            logits_strong,
            codes,
            *context.tracker.weights(context.rows),
            sample_weight=self._robust_row_weights(codes),
        )
        self._backward(loss)
        return {"loss": loss, "y_pred": y_pred}

    def _robust_row_weights(self, codes):
        """Each row's weight in the robust loss, or None for equal weights.

        The rows' sample and class weights, times the criterion's own class
        weights (``criterion__weight`` of a cross-entropy or NLL loss),
        which the robust loss replaces: rescaled to mean 1 in the batch, as
        the weighted criterion averages.
        """
        weights = self._fit_context.batch_weights()
        criterion = getattr(self, "criterion_", None)
        if isinstance(criterion, (torch.nn.CrossEntropyLoss, torch.nn.NLLLoss)):
            if criterion.weight is not None:
                by_class = criterion.weight.to(codes.device)[codes]
                by_class = by_class / by_class.mean()
                weights = by_class if weights is None else weights * by_class
        return weights

    def _logits(self, output):
        """The module's output as logits for the robust loss and the label margins.

        With ``NLLLoss`` the module returns probabilities, as in skorch's
        examples, and their logarithms are logits (skorch's ``get_loss``
        takes the same logarithm); otherwise it returns logits.
        """
        if self._returns_probabilities():
            return torch.log(output + torch.finfo(output.dtype).eps)
        return output

    def get_robust_loss(
        self,
        logits_weak,
        logits_strong,
        y_true,
        clean,
        noisy,
        clean_cdf,
        noisy_cdf,
        sample_weight=None,
    ):
        """Loss of one robust-stage batch; override to change it (as skorch's ``get_loss``).

        Receives the arguments of :func:`robust_loss` and returns a scalar tensor.
        The consistency term compares the views' probabilities for images
        and their logits otherwise (see :func:`robust_loss`).
        """
        shape = self.input_shape_
        images = shape is not None and len(shape) == 3
        inputs = (logits_weak, logits_strong, y_true, clean, noisy, clean_cdf, noisy_cdf)
        return robust_loss(
            *inputs, sample_weight, consistency="probabilities" if images else "logits"
        )


def _compare_agreements(first, second, codes, weights, n_classes):
    """Two predictions' balanced agreement with the labels, and whether the first's is better.

    A prediction's balanced agreement is the mean over classes of the
    weighted share of each class's rows predicted as their label. The first
    is better where it leads by more than ``MIN_AGREEMENT_Z`` standard
    deviations of the lead that the rows on which only one of them is right
    would give if each were as likely to be the one (a paired sign test,
    each row weighted as in the means).
    """
    total = np.bincount(codes, weights, n_classes)
    has_rows = total > 0
    share = weights / np.where(has_rows, total, 1)[codes]
    right = [share * (predicted == codes) for predicted in (first, second)]
    agreements = [np.bincount(codes, r, n_classes)[has_rows].mean() for r in right]
    lead = right[0] - right[1]
    better = lead.sum() > MIN_AGREEMENT_Z * math.sqrt(np.dot(lead, lead))
    return agreements, better


def _replayable_randomness(device):
    """Snapshot torch's random state on ``device``; the returned function restores it."""
    device = torch.device(device)
    cpu_state = torch.get_rng_state()
    cuda_state = torch.cuda.get_rng_state(device) if device.type == "cuda" else None

    def replay():
        torch.set_rng_state(cpu_state)
        if cuda_state is not None:
            torch.cuda.set_rng_state(cuda_state, device)

    return replay


def _identity(batch):
    return batch


def _view_functions(views):
    """The (weak, strong) callables of fitted views: None, a pair, or an estimator."""
    if views is None:
        return (_identity, _identity)
    if isinstance(views, tuple):
        return views
    return (views.weak, views.strong)
