"""Label-issue reports in the shape cleanlab users know."""

import numpy as np
from sklearn.utils.validation import check_is_fitted


def rank_label_issues(sample_cleanliness, wrong_events):
    """Row indices ordered from most to least likely mislabelled.

    Lower cleanliness first; among equal cleanliness, more wrong events first.

    Parameters
    ----------
    sample_cleanliness : array-like of shape (n_rows,)
        Probability that each label is right.
    wrong_events : array-like of shape (n_rows,)
        Wrong-event counts, to break ties.

    Returns
    -------
    order : ndarray of shape (n_rows,)
        Row indices, most suspicious first.

    Examples
    --------
    >>> from skwrongevent._report import rank_label_issues
    >>> rank_label_issues([0.9, 0.0, 0.0, 0.4], [1, 5, 9, 2])
    array([2, 1, 3, 0])
    """
    cleanliness = np.asarray(sample_cleanliness, dtype=np.float64)
    return np.lexsort((-np.asarray(wrong_events), cleanliness))


class LabelIssuesMixin:
    """Adds ``get_label_issues`` to estimators with per-row wrong-event statistics."""

    def get_label_issues(self):
        """One row per training row, in training order, like cleanlab's report.

        Returns
        -------
        issues : pandas.DataFrame of shape (n_rows, 6)
            ``is_label_issue`` (bool), ``label_quality`` (float, the clean
            probability), ``given_label``, ``predicted_label`` (the network's
            prediction in its last training pass), ``wrong_events`` (int) and
            ``difficulty`` (float). Sort by ``label_quality`` to see the
            likeliest errors first.
        """
        import pandas as pd

        check_is_fitted(self, "wrong_events_")
        return pd.DataFrame(
            {
                "is_label_issue": self.noise_mask_,
                "label_quality": self.sample_cleanliness_,
                "given_label": self.given_labels_,
                "predicted_label": self.predicted_labels_,
                "wrong_events": self.wrong_events_,
                "difficulty": self.sample_difficulty_,
            }
        )
