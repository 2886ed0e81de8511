"""Label-issue reports in the shape cleanlab users know."""

import numpy as np
from sklearn.utils.validation import check_is_fitted


class LabelIssuesMixin:
    """Label-issue reports for estimators with per-row wrong-event statistics.

    Needs the fitted ``noise_mask_``, ``label_quality_``, ``sample_cleanliness_``,
    ``sample_margin_``, ``sample_difficulty_``, ``wrong_events_``,
    ``given_labels_`` and ``predicted_labels_``; ``_row_index`` holds the index of a DataFrame
    ``X`` seen in ``fit``.
    """

    _row_index = None

    def _train(self, X, *args, **kwargs):
        index = X.index if hasattr(X, "iloc") else None  # a pandas DataFrame's own row labels
        super()._train(X, *args, **kwargs)
        self._row_index = index
        return self

    @property
    def suggested_labels_(self):
        """The predicted label for rows judged mislabelled, the given label for the others."""
        return np.where(self.noise_mask_, self.predicted_labels_, self.given_labels_)

    def get_label_issues(self):
        """One row per training row, in training order, like cleanlab's report.

        Returns
        -------
        issues : pandas.DataFrame of shape (n_rows, 8)
            ``is_label_issue`` (bool), ``label_quality`` (float in (0, 1),
            ordered as the wrong-event counts with the margin breaking
            ties, below 0.5 where the clean probability is; NaN for rows
            held out for validation, which are not judged), ``margin``
            (float, the average label margin), ``given_label``,
            ``suggested_label`` (the
            predicted label where ``is_label_issue``, else the given one),
            ``predicted_label`` (the network's prediction in its last
            training pass), ``wrong_events`` (int) and ``difficulty``
            (float). The index is that of the training ``X`` when it was a
            DataFrame, else 0, 1, ... Sort by ``label_quality`` to see
            the likeliest errors first.
        """
        import pandas as pd

        check_is_fitted(self, "wrong_events_")
        return pd.DataFrame(
            {
                "is_label_issue": self.noise_mask_,
                "label_quality": self.label_quality_,
                "margin": self.sample_margin_,
                "given_label": self.given_labels_,
                "suggested_label": self.suggested_labels_,
                "predicted_label": self.predicted_labels_,
                "wrong_events": self.wrong_events_,
                "difficulty": self.sample_difficulty_,
            },
            index=self._row_index,
        )

    def get_noise_matrix(self, normalize=True):
        """Estimated class-to-class label noise, from the verdict.

        Rows are given labels, columns suggested labels (see
        :meth:`get_label_issues`): off the diagonal, how many rows of each
        given label the verdict judges to belong to another class. Rows held
        out for validation are left out. The estimated noise rate is
        ``noise_mask_.mean()`` over the judged rows.

        Parameters
        ----------
        normalize : bool, default=True
            Shares of each given label's rows (rows sum to 1) instead of
            row counts.

        Returns
        -------
        matrix : pandas.DataFrame of shape (n_classes, n_classes)

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from skwrongevent import WrongEventClassifier, inject_label_noise
        >>> X, y = load_iris(return_X_y=True)
        >>> y_noisy, is_wrong = inject_label_noise(y, 0.2, random_state=0)
        >>> clf = WrongEventClassifier(max_epochs=20, lr=1e-2, random_state=0).fit(X, y_noisy)
        >>> matrix = clf.get_noise_matrix()
        >>> matrix.shape, bool(abs(matrix.sum(axis=1) - 1).max() < 1e-9)
        ((3, 3), True)
        """
        import pandas as pd

        check_is_fitted(self, "wrong_events_")
        judged = ~np.isnan(self.sample_cleanliness_)  # not rows held out for validation
        given_labels, suggested_labels = self.given_labels_[judged], self.suggested_labels_[judged]
        classes = np.unique(np.r_[given_labels, suggested_labels])
        given = np.searchsorted(classes, given_labels)
        suggested = np.searchsorted(classes, suggested_labels)
        counts = np.zeros((classes.size, classes.size), dtype=np.int64)
        np.add.at(counts, (given, suggested), 1)
        matrix = pd.DataFrame(counts, index=classes, columns=classes)
        matrix.index.name, matrix.columns.name = "given label", "suggested label"
        if normalize:
            matrix = matrix.div(np.maximum(counts.sum(axis=1, keepdims=True), 1))
        return matrix
