"""WrongEventClassifier: the IDO method as a skorch classifier."""

import math
from numbers import Real

import numpy as np
import torch
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from skorch.callbacks import LRScheduler
from skorch.dataset import unpack_data

from ._base import NetClassifier, first_output
from ._data import to_device
from ._ido import IdoContext, label_margin, robust_loss, select_base_epoch
from ._mixture import WrongEventMixture
from ._report import LabelIssuesMixin
from ._verdict import (
    beats_chance,
    better_network,
    evidence_strength,
    fit_messages,
    judge,
    margin_auroc,
    warn,
)
from ._views import identity, make_views, replayable_randomness, view_functions

FINAL_LR_FACTOR = 0.1


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
       with no coefficients to tune (:meth:`get_robust_loss`). The mixture
       is refitted after every epoch on the updated counts.

    Stage 2 runs only where the evidence calls for it: where the rows the
    warm-up flags look like wrong labels rather than hard rows
    (:func:`evidence_strength` of the margins up to the base epoch, at
    least 0.5); elsewhere training goes on plainly, counting. The scores
    are the counts' evidence and nothing else; checks (:func:`judge`) limit
    only what is done with them, and say so in a warning. Where robust
    training ends fitting the rows judged clean worse than the base model,
    or predicting fewer classes, the base model is kept. docs/verdict.md
    explains each check.

    Batches, callbacks, datasets, samplers, ``LRScheduler`` callbacks and
    ``sample_weight`` work as in skorch.

    Parameters
    ----------
    module : torch module class or instance, default=None
        The network; it must return one logit per class. ``None`` builds
        an :class:`MLP` sized from the data, which standardises its inputs.
    warmup_fraction : float in (0, 1], default=0.25
        Least share of ``max_epochs`` spent in the warm-up (fewer than 3
        epochs warn). It goes on while the network's predictions agree with
        the labels no better than chance, then while the prediction-change
        curve still falls (the network is still learning). ``1.0`` skips
        robust training: the fitted network is the base model.
    mixture : {"global", "per_class"}, default="global"
        One beta mixture for all rows, or one per given class (the paper's
        choice; it flags clean rows of easy classes on nearly clean labels).
    views : "auto", None, estimator or (callable, callable), default="auto"
        How the robust stage makes a batch's weak and strong view.
        ``"auto"``: :class:`ImageViews` for images at least 16 pixels a
        side, :class:`TabularViews` for rows of features, when the warm-up
        flags at least 5% of the rows; the rows themselves otherwise and for
        other input. ``None``: the batch itself. An estimator with ``weak``
        and ``strong`` methods is cloned and fitted on a sample of the rows;
        a pair of callables (batch in, batch out, on its device) is used as
        is.
    strength : "auto" or float in [0, 1], default="auto"
        The share of the flagged rows the robust stage acts on, those with
        the most wrong events first; the others train as clean rows.
        ``"auto"``: all of them where ``evidence_strength_`` is at least
        0.5, none (plain training) below. 1.0 is the method as published;
        0.0 trains on plainly after the warm-up, counting.
    **kwargs
        Every parameter of :class:`NetClassifier` (``criterion``,
        ``train_split``, ``optimizer``, ``lr``, ``max_epochs``, ``batch_size``, ``device``,
        ``classes``, ``class_weight``, ``mixed_precision``,
        ``random_state``, ``verbose``) and of skorch's
        ``NeuralNetClassifier`` (``callbacks``, ``dataset``,
        ``iterator_train__*``, ``module__*``, ``optimizer__*``, ...).
        ``lr`` is constant in the warm-up, then cosine-annealed to a tenth
        over the robust stage (unless a ``LRScheduler`` callback sets it),
        which starts with a fresh optimizer state. Rows that ``train_split``
        holds out are not trained on, so not judged: their per-row
        statistics are NaN (0 wrong events), never in ``noise_mask_``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    wrong_events_ : ndarray of shape (n_rows,), dtype=int32
        Wrong-event count of each training row at the end of training (of
        the warm-up, where the base model was restored).
    sample_cleanliness_ : ndarray of shape (n_rows,), dtype=float64
        Probability that each row's label is right: its mixture's clean
        posterior at its count (it rounds to 0 or 1 where the counts
        separate well; rank by ``label_quality_``).
    sample_difficulty_ : ndarray of shape (n_rows,), dtype=float32
        Where each row sits inside the clean component, in [0, 1].
    noise_mask_ : ndarray of shape (n_rows,), dtype=bool
        The rows judged mislabelled (see :attr:`Verdict.noise_mask`).
    sample_margin_ : ndarray of shape (n_rows,), dtype=float32
        Each row's :func:`label_margin` averaged over its training passes.
    label_quality_ : ndarray of shape (n_rows,), dtype=float64
        Ranking score in (0, 1), lowest most likely wrong: ordered as the
        counts, ties broken by the margin (see :attr:`Verdict.label_quality`).
    detection_auroc_ : float
        The fit's estimate of how well the warm-up's counts rank wrong
        labels first (:func:`margin_auroc`); NaN where the warm-up took
        every epoch.
    evidence_strength_ : float
        How much the rows the warm-up flags look like wrong labels (1)
        rather than hard rows (0) (:func:`evidence_strength`); NaN where the
        warm-up took every epoch.
    given_labels_ : ndarray of shape (n_rows,)
        Each training row's label as given.
    predicted_labels_ : ndarray of shape (n_rows,)
        The fitted network's prediction of each training row (as
        ``predict`` gives it).
    mixture_ : BetaMixture
        The final mixture on all judged rows' counts.
    class_mixtures_ : list of BetaMixture or None
        With ``mixture="per_class"``, the mixture each class used.
    capped_classes_, withheld_classes_ : ndarray
        The guarded classes (see above and :func:`judge`).
    views_ : estimator, (callable, callable) or None
        The views the robust stage used: a fitted clone of the views
        estimator, the given pair, or None. Absent without a robust stage.
    prediction_changes_ : ndarray of shape (warmup_epochs_ - 1,)
        Rows whose warm-up prediction changed, for epochs 2, 3, ...
    base_epoch_ : int
        Warm-up epoch whose weights started robust training (and are the
        fitted network's, where the base model was restored).
    warmup_epochs_, robust_epochs_ : int
        Epochs run in each stage; epochs trained on plainly after the
        warm-up count as warm-up.
    n_features_in_, feature_names_in_, input_shape_, module_, history_
        As in :class:`NetClassifier`; the history also records ``stage``
        and ``prediction_change``.

    See Also
    --------
    NetClassifier : the same network trained plainly.
    WrongEventCleaner : drops the rows this model judges mislabelled.
    judge : the verdict on the counts.

    Notes
    -----
    Both views of a batch go through the network with the same random
    state, so dropout drops the same units for both and the consistency
    term measures only what the views change.

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
        **NetClassifier._parameter_constraints,  # noqa: SLF001 (scikit-learn's convention)
        "warmup_fraction": [Interval(Real, 0, 1, closed="right")],
        "mixture": [StrOptions({"global", "per_class"})],
        "views": [StrOptions({"auto"}), None, tuple, HasMethods(["weak", "strong"])],
        "strength": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="both")],
    }

    _all_reduce = None  # sums a tensor across processes in place, in distributed fits

    def __init__(
        self,
        module=None,
        *,
        warmup_fraction=0.25,
        mixture="global",
        views="auto",
        strength="auto",
        **kwargs,
    ):
        super().__init__(module, **kwargs)
        self.warmup_fraction = warmup_fraction
        self.mixture = mixture
        self.views = views
        self.strength = strength

    # ------------------------------------------------------------------
    # The two stages
    # ------------------------------------------------------------------

    def get_split_datasets(self, X, y=None, **fit_params):
        dataset_train, dataset_valid = super().get_split_datasets(X, y, **fit_params)
        context = self._fit_context
        held_out = context.row_map is not None  # then dataset_train is a Subset
        context.dataset = dataset_train.dataset if held_out else dataset_train
        return dataset_train, dataset_valid

    def _check_params(self):
        super()._check_params()
        views = self.views
        if isinstance(views, tuple) and not (len(views) == 2 and all(map(callable, views))):
            raise ValueError(f"views must be a pair of callables (weak, strong), got {views!r}.")

    def _make_fit_context(self, X, codes, weights, context_class=IdoContext):
        context = super()._make_fit_context(X, codes, weights, context_class)
        context.warmup_epochs = min(
            self.max_epochs, max(1, round(self.warmup_fraction * self.max_epochs))
        )
        context.robust_epochs = self.max_epochs - context.warmup_epochs
        context.mixture = WrongEventMixture(
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
            self._end_warmup(context)
        self.history.record("stage", context.stage)
        if context.stage == 2 and context.initial_lrs is not None:
            self._anneal_learning_rate(context.epoch - context.warmup_epochs - 1, context)

    def _end_epoch(self):
        context = self._fit_context
        changes, counted = context.tracker.end_epoch(self._all_reduce)
        context.epochs_done = context.epoch
        self.history.record("prediction_change", changes)
        self.history.record("rows_counted", counted)
        if context.stage == 1 and context.epoch > 1:
            context.prediction_changes.append(changes)
        if context.stage == 1 and context.epoch <= context.warmup_epochs:
            self._keep_base_model(context)
            if context.epoch == context.warmup_epochs == context.base_epoch < self.max_epochs:
                # The prediction-change curve is still falling: the network is still learning
                # the rows, so a count now cannot tell a wrong label from a row not learned yet,
                # and there is no memorisation for the base model to undo. Count on.
                context.warmup_epochs += 1
                context.robust_epochs -= 1
        if context.stage == 2 or context.epoch == context.warmup_epochs:
            self._judge_rows(context)

    def _keep_base_model(self, context):
        if context.learned_epoch is None and beats_chance(
            *context.tracker.agreement(len(self.classes_))
        ):
            context.learned_epoch = context.epoch
        # Until the network beats chance its prediction changes are the churn of guessing,
        # and it has learned nothing for a wrong label to spoil: the current epoch is kept.
        base_epoch = context.epoch
        if context.learned_epoch is not None:
            changes = np.asarray(context.prediction_changes)
            base_epoch = self.select_base_epoch(changes, first_epoch=context.learned_epoch)
        if base_epoch == context.epoch:
            context.base_epoch = context.epoch
            context.base_state = self._component_states()
            context.base_margin = context.tracker.margin.clone()

    def select_base_epoch(self, prediction_changes, first_epoch=1):
        """The warm-up epoch whose weights start robust training; override to change the rule.

        Called after every warm-up epoch once the network's training
        predictions agree with the given labels beyond chance, with the
        curve so far; the weights of the epoch it returns are kept.

        Parameters
        ----------
        prediction_changes : ndarray of shape (n_epochs - 1,)
            Rows whose prediction changed at epochs 2, 3, ...
        first_epoch : int, default=1
            The first epoch whose predictions beat chance: the curve is
            read from there.

        Returns
        -------
        epoch : int
            See :func:`select_base_epoch`.
        """
        return select_base_epoch(prediction_changes, first_epoch)

    def _judge_rows(self, context, predicted=None, final=False, refit=True):
        """Refit the mixture on the user's rows and judge them; the robust loss reads the result."""
        tracker = context.tracker
        counts, codes = context.judged(tracker.wrong), context.judged(context.codes)
        if refit:
            context.mixture.fit(counts, codes)
        margin = context.average_margin()
        if predicted is None:
            predicted = context.judged(tracker.last_prediction)
        strength = 1.0 if final else context.strength
        context.verdict = judge(
            context.mixture, counts, codes, predicted=predicted, margin=margin, strength=strength
        )
        device = context.codes.device
        context.tracker.use_verdict(
            torch.as_tensor(context.verdict.training_table, dtype=torch.float32, device=device),
            torch.as_tensor(context.verdict.clean_limit, dtype=torch.int32, device=device),
        )

    def _end_warmup(self, context):
        """Measure the evidence; act on it from the base model, or train on plainly."""
        counts = context.judged(context.tracker.wrong)
        flagged = context.verdict.cleanliness < 0.5
        context.detection_auroc = margin_auroc(counts, context.average_margin())
        # Read up to the base model, before the network could memorise the wrong labels.
        margin = context.judged(context.base_margin) / max(context.base_epoch, 1)
        context.evidence = evidence_strength(margin[flagged], margin[~flagged])
        context.base_margin = None
        if self.strength == "auto":
            # Act fully or not at all: a flagged row trained as clean is learned, wrong or not.
            context.strength = 1.0 if context.evidence >= 0.5 and flagged.any() else 0.0
        else:
            context.strength = float(self.strength)
        if context.learned_epoch is None or context.strength == 0:
            context.plain = True  # plain training goes on, counting
            return
        context.stage = 2
        self._judge_rows(context, refit=False)  # the same mixture, at the strength measured
        if context.base_state is not None:
            self._load_component_states(context.base_state)
        counts_type = torch.uint8 if context.warmup_epochs < 256 else torch.int32
        context.warmup_counts = context.tracker.wrong.to(counts_type)
        self.views_ = make_views(
            self.views,
            self.input_shape_,
            np.issubdtype(getattr(context.X, "dtype", np.float32), np.integer),
            np.mean(context.verdict.noise_mask),
            context.sample,
        )
        context.views = view_functions(self.views_)
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

    def _finish_fit(self):
        context = self._fit_context
        context.tracker.end_epoch(self._all_reduce)  # the passes of an interrupted epoch
        context.epochs_done = context.epoch
        if context.stage == 1:
            self.views_ = None
            if not (context.robust_epochs or context.plain) and context.base_state is not None:
                self._load_component_states(context.base_state)
        code_type = np.min_scalar_type(len(self.classes_))
        self._given_codes = context.codes.cpu().numpy().astype(code_type)
        self._predicted_codes = self._predict_training_rows(context, code_type)
        if context.stage == 2 and context.base_state is not None:
            self._keep_better_network(context, code_type)
        predicted = self._predicted_codes
        if context.row_map is not None:
            predicted = predicted[context.row_map.numpy()]
        if context.learned_epoch is None:  # guesses: nothing for the guards to read
            predicted = None
        self._judge_rows(context, predicted, final=True)
        if context.learned_epoch is None:  # counts of guesses: no evidence to act on
            context.verdict.noise_mask[:] = False
        self._set_row_statistics(context)
        self._warn_about_fit(context)

    def _keep_better_network(self, context, code_type):
        """Restore the base model where robust training undid what it started from.

        Robust training fits the rows judged clean to their labels, so it
        must end agreeing with them at least as well as the base model it
        started from, and predicting as many classes (:func:`better_network`):
        the fresh optimizer at the full learning rate can throw a
        well-trained network off its minimum, down to a constant
        prediction. The rows are then judged by the warm-up's counts (the
        robust network's wrong events are its own failure). The comparison
        costs one more inference pass over the training rows.
        """
        codes = context.codes.cpu().numpy()
        weights = np.zeros(context.n_rows)
        rows = slice(None) if context.row_map is None else context.row_map.numpy()
        weights[rows] = context.verdict.cleanliness
        robust_state = self._component_states()
        self._load_component_states(context.base_state)
        base = self._predict_training_rows(context, code_type)
        base_is_better, agreements = better_network(
            base, self._predicted_codes, codes, weights, len(self.classes_)
        )
        if not base_is_better:
            self._load_component_states(robust_state)
            return
        self._predicted_codes = base
        context.agreements = agreements
        context.tracker.wrong = context.warmup_counts.to(torch.int32)

    def _predict_training_rows(self, context, code_type):
        """The network's prediction of every training row, on the rows themselves (no views)."""
        if not context.epoch:
            return self._given_codes.copy()
        return self._predict_dataset(context.dataset, context.forward_params, code_type)

    def _set_row_statistics(self, context):
        verdict, n_rows = context.verdict, context.n_rows
        tracker = context.tracker
        self.wrong_events_ = tracker.wrong.cpu().numpy()
        self.sample_margin_ = (tracker.margin / max(context.epochs_done, 1)).cpu().numpy()
        rows = slice(None) if context.row_map is None else context.row_map.numpy()
        if not context.epoch:  # initialised, not trained: nothing judged
            self.sample_margin_[:] = np.nan
        for name, values, missing in [
            ("sample_cleanliness_", verdict.cleanliness, np.nan),
            ("sample_difficulty_", verdict.difficulty, np.nan),
            ("label_quality_", verdict.label_quality, np.nan),
            ("noise_mask_", verdict.noise_mask, False),
        ]:
            full = np.full(n_rows, missing, dtype=values.dtype)
            if context.epoch:
                full[rows] = values
            setattr(self, name, full)
        if context.row_map is not None:
            self.sample_margin_[context.held_out()] = np.nan
        self.mixture_ = context.mixture.mixture_
        self.class_mixtures_ = context.mixture.class_mixtures_
        self.capped_classes_ = self.classes_[verdict.capped_classes]
        self.withheld_classes_ = self.classes_[verdict.withheld_classes]
        auroc = context.detection_auroc
        self.detection_auroc_ = np.nan if auroc is None else auroc
        self.evidence_strength_ = context.evidence
        self.prediction_changes_ = np.asarray(context.prediction_changes, dtype=np.int64)
        self.base_epoch_ = context.base_epoch
        self.warmup_epochs_ = (
            context.epoch if context.plain else min(context.epoch, context.warmup_epochs)
        )
        self.robust_epochs_ = context.epoch - self.warmup_epochs_
        tracker.last_prediction = tracker.epoch_pass = tracker.epoch_margin = None

    def _warn_about_fit(self, context):
        """Every warning about what the fit could judge, raised at the caller of ``fit``."""
        judged = ~np.isnan(self.sample_cleanliness_)
        changes = self.prediction_changes_
        unweighted = []
        if context.weights is not None:
            codes = context.codes.cpu().numpy()
            n_classes = len(self.classes_)
            weight = np.bincount(codes, context.weights.cpu().numpy(), minlength=n_classes)
            present = np.bincount(codes, minlength=n_classes) > 0
            unweighted = self.classes_[present & (weight == 0)].tolist()
        withheld = [c for c in self.withheld_classes_.tolist() if c not in unweighted]
        capped = [
            c for c in self.capped_classes_.tolist() if c not in withheld and c not in unweighted
        ]
        for message in fit_messages(
            warmup_epochs=self.warmup_epochs_,
            held_out=int((~judged).sum()),
            n_rows=context.n_rows,
            degenerate_count=(
                int(self.wrong_events_[judged][0])
                if context.mixture.degenerate_ and judged.any()
                else None
            ),
            epochs=context.epoch,
            learned=context.learned_epoch is not None,
            still_learning=bool(
                self.warmup_fraction < 1
                and self.base_epoch_ == self.warmup_epochs_ == self.max_epochs
                and changes.size
                and changes[-1] > 0
            ),
            restored=context.agreements,
            base_epoch=self.base_epoch_,
            capped=capped,
            withheld=withheld,
            stopped_early=(
                self.max_epochs
                if context.epoch < self.max_epochs and context.stage == 1 and not context.plain
                else None
            ),
            unweighted=unweighted,
        ):
            warn(message)

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
        if weak is strong is identity:  # no views: the second pass would repeat the first
            y_pred = output_strong = self.infer(Xi, **fit_params)
        else:
            X_weak, X_strong = weak(Xi), strong(Xi)
            # Both views see the same dropout masks (and any other randomness in the module),
            # so the consistency term compares views and cannot be lowered by shrinking the
            # logits.
            replay = replayable_randomness(device)
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
            sample_weight=self._criterion_row_weights(codes),
        )
        self._backward(loss)
        return {"loss": loss, "y_pred": y_pred}

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
