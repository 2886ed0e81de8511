"""WrongEventDisplay: a picture of the wrong events and the mixture's verdict."""

import numpy as np
from sklearn.utils.validation import check_is_fitted


class WrongEventDisplay:
    """Histogram of wrong events by verdict, and the warm-up prediction-change curve.

    Follows scikit-learn's Display pattern: build it with
    :meth:`from_estimator`, or from arrays with the constructor and then
    :meth:`plot`. matplotlib is imported only when plotting (the ``plot``
    extra).

    Parameters
    ----------
    wrong_events : ndarray of shape (n_rows,)
        Wrong-event count of each training row.
    noise_mask : ndarray of shape (n_rows,), dtype=bool
        The verdict: True for rows judged mislabelled.
    mixture : BetaMixture
        The global mixture, whose two densities and decision point are drawn.
    prediction_changes : ndarray of shape (n_warmup_epochs - 1,)
        Rows whose prediction changed at warm-up epochs 2, 3, ...
    base_epoch : int
        The epoch chosen as base model.
    true_noise_mask : ndarray of shape (n_rows,), dtype=bool, default=None
        Known wrong labels (for injected noise); when given, the histogram
        splits the bars by the truth as well as by the verdict.
    noise_matrix : pandas.DataFrame of shape (n_classes, n_classes), default=None
        The estimated class-to-class noise (``get_noise_matrix()``), drawn
        by :meth:`plot_noise_matrix`.
    estimator_name : str, default=None
        Title of the plot.
    detection_auroc : float, default=None
        The fit's estimate of how well the counts rank wrong labels first
        (``detection_auroc_``), shown over the histogram.
    evidence_strength : float, default=None
        How much the flagged rows look like wrong labels rather than hard
        rows (``evidence_strength_``), shown beside it.

    Attributes
    ----------
    ax_ : ndarray of matplotlib Axes, shape (2,)
        Histogram axes, then prediction-change axes.
    figure_ : matplotlib Figure
        The figure holding them.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from skwrongevent import WrongEventClassifier, WrongEventDisplay, inject_label_noise
    >>> X, y = load_iris(return_X_y=True)
    >>> y_noisy, is_wrong = inject_label_noise(y, 0.2, random_state=0)
    >>> clf = WrongEventClassifier(max_epochs=20, lr=1e-2, random_state=0).fit(X, y_noisy)
    >>> display = WrongEventDisplay.from_estimator(clf, true_noise_mask=is_wrong)
    >>> display.ax_.shape
    (2,)
    """

    def __init__(
        self,
        wrong_events,
        noise_mask,
        mixture,
        prediction_changes,
        base_epoch,
        *,
        true_noise_mask=None,
        noise_matrix=None,
        estimator_name=None,
        detection_auroc=None,
        evidence_strength=None,
    ):
        self.wrong_events = wrong_events
        self.noise_mask = noise_mask
        self.mixture = mixture
        self.prediction_changes = prediction_changes
        self.base_epoch = base_epoch
        self.true_noise_mask = true_noise_mask
        self.noise_matrix = noise_matrix
        self.estimator_name = estimator_name
        self.detection_auroc = detection_auroc
        self.evidence_strength = evidence_strength

    @classmethod
    def from_estimator(cls, estimator, *, true_noise_mask=None, ax=None):
        """Plot a fitted ``WrongEventClassifier`` or ``WrongEventCleaner``.

        Parameters
        ----------
        estimator : WrongEventClassifier or WrongEventCleaner
            Fitted estimator.
        true_noise_mask : array-like of shape (n_rows,), dtype=bool, default=None
            Known wrong labels, to colour the bars by the truth.
        ax : pair of matplotlib Axes, default=None
            Where to draw; a new figure with two panels when None.

        Returns
        -------
        display : WrongEventDisplay
            The display, with ``ax_`` and ``figure_`` set.
        """
        check_is_fitted(estimator, "wrong_events_")
        classifier = getattr(estimator, "classifier_", estimator)
        if true_noise_mask is not None:
            true_noise_mask = np.asarray(true_noise_mask, dtype=bool)
            if true_noise_mask.shape != estimator.wrong_events_.shape:
                raise ValueError(
                    f"true_noise_mask has shape {true_noise_mask.shape}, but the estimator "
                    f"was fitted on {estimator.wrong_events_.size} rows."
                )
        judged = ~np.isnan(estimator.sample_cleanliness_)  # not rows held out for validation
        if true_noise_mask is not None:
            true_noise_mask = true_noise_mask[judged]
        return cls(
            estimator.wrong_events_[judged],
            estimator.noise_mask_[judged],
            classifier.mixture_,
            classifier.prediction_changes_,
            classifier.base_epoch_,
            true_noise_mask=true_noise_mask,
            noise_matrix=estimator.get_noise_matrix(),
            estimator_name=type(estimator).__name__,
            detection_auroc=classifier.detection_auroc_,
            evidence_strength=classifier.evidence_strength_,
        ).plot(ax=ax)

    def plot(self, ax=None):
        """Draw both panels.

        Parameters
        ----------
        ax : pair of matplotlib Axes, default=None
            Where to draw; a new figure with two panels when None.

        Returns
        -------
        self : WrongEventDisplay
            With ``ax_`` and ``figure_`` set.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(1, 2, figsize=(11, 4), width_ratios=(3, 2))
        ax = np.asarray(ax).ravel()
        if ax.size != 2:
            raise ValueError(f"ax must hold two Axes (histogram, curve), got {ax.size}.")
        self._plot_histogram(ax[0])
        self._plot_prediction_changes(ax[1])
        self.ax_ = ax
        self.figure_ = ax[0].figure
        if self.estimator_name:
            self.figure_.suptitle(self.estimator_name)
        return self

    def plot_noise_matrix(self, ax=None):
        """Draw the estimated noise matrix: given labels down, suggested labels across.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.

        Returns
        -------
        ax : matplotlib Axes
        """
        import matplotlib.pyplot as plt

        if self.noise_matrix is None:
            raise ValueError("This display has no noise_matrix; build it with from_estimator.")
        matrix = self.noise_matrix
        if ax is None:
            size = 1.5 + 0.5 * len(matrix)
            _, ax = plt.subplots(figsize=(size, size))
        ax.imshow(matrix.to_numpy(), cmap="Reds", vmin=0, vmax=1)
        for (i, j), share in np.ndenumerate(matrix.to_numpy()):
            if share >= 0.005:
                color = "white" if share > 0.5 else "black"
                ax.text(j, i, f"{share:.2f}", ha="center", va="center", color=color, fontsize=8)
        ticks = np.arange(len(matrix))
        ax.set_xticks(ticks, [str(label) for label in matrix.columns])
        ax.set_yticks(ticks, [str(label) for label in matrix.index])
        ax.set_xlabel("suggested label")
        ax.set_ylabel("given label")
        ax.set_title("estimated label noise (share of each given label)")
        return ax

    def _groups(self):
        kept, dropped = ~self.noise_mask, self.noise_mask
        if self.true_noise_mask is None:
            return [("judged clean", kept, "tab:blue"), ("judged wrong", dropped, "tab:red")]
        truth = self.true_noise_mask
        return [
            ("clean, kept", kept & ~truth, "tab:blue"),
            ("wrong, kept (missed)", kept & truth, "tab:purple"),
            ("clean, flagged (false alarm)", dropped & ~truth, "tab:orange"),
            ("wrong, flagged", dropped & truth, "tab:red"),
        ]

    def _plot_histogram(self, ax):
        counts = np.asarray(self.wrong_events)
        bins = np.arange(counts.max() + 2) - 0.5
        groups = self._groups()
        ax.hist(
            [counts[mask] for _, mask, _ in groups],
            bins=bins,
            stacked=True,
            color=[color for *_, color in groups],
            label=[f"{name} ({mask.sum()})" for name, mask, _ in groups],
        )
        self._plot_mixture(ax, counts)
        # Up to one wrong event per warm-up epoch and two per robust epoch (both views).
        ax.set_xlabel("wrong events per row (1 per warm-up epoch, up to 2 per robust epoch)")
        ax.set_ylabel("rows (log scale)")
        ax.set_yscale("log")
        ax.legend(fontsize="small")
        evidence = []
        if self.detection_auroc is not None and not np.isnan(self.detection_auroc):
            evidence.append(f"estimated AUROC of the counts {self.detection_auroc:.2f}")
        if self.evidence_strength is not None and not np.isnan(self.evidence_strength):
            evidence.append(f"evidence strength {self.evidence_strength:.2f}")
        ax.set_title("; ".join(evidence), fontsize="small")

    def _plot_mixture(self, ax, counts):
        mixture = self.mixture
        if mixture.degenerate_:
            return
        grid = np.linspace(mixture.min_count_, mixture.max_count_, 400)
        density = mixture.density(grid) * counts.size
        for k, (name, style) in enumerate((("clean", "--"), ("noisy", ":"))):
            ax.plot(grid, density[:, k], "k" + style, label=f"{name} component")
        noisy = mixture.predict_proba(grid)[:, 1] > 0.5
        if noisy.any():
            decision = grid[np.argmax(noisy)]
            ax.axvline(decision, color="grey", label=f"global decision point ({decision:.1f})")
        ax.set_ylim(0.5, 2 * np.bincount(counts.astype(np.int64)).max())

    def _plot_prediction_changes(self, ax):
        changes = np.asarray(self.prediction_changes)
        epochs = np.arange(2, changes.size + 2)
        ax.plot(epochs, changes, "o-", color="tab:green")
        if self.base_epoch >= 2:
            ax.plot(
                self.base_epoch,
                changes[self.base_epoch - 2],
                "k*",
                markersize=14,
                label=f"base model (epoch {self.base_epoch})",
            )
            ax.legend(fontsize="small")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("warm-up epoch")
        ax.set_ylabel("rows whose prediction changed")
