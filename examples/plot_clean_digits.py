"""
Find and drop wrong labels in a pipeline
========================================

Injects 30% symmetric label noise into scikit-learn's digits, then removes
the suspected wrong labels with ``WrongEventCleaner`` inside an
imbalanced-learn pipeline in front of a logistic regression. Prints the
label-issue report's most suspicious rows and saves a picture of the wrong
events to ``wrong_events_digits.png`` in the system's temporary folder.
Needs the ``imblearn`` and ``plot`` extras; runs in about ten seconds on a
laptop CPU.
"""

# %%
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from imblearn.pipeline import make_pipeline
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skwrongevent import WrongEventCleaner, WrongEventDisplay, inject_label_noise

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
y_noisy, is_wrong = inject_label_noise(y_train, 0.3, random_state=0)

# %%
# The cleaner drops rows only while fitting; prediction goes straight to the model.
pipeline = make_pipeline(
    StandardScaler(), WrongEventCleaner(random_state=0), LogisticRegression(max_iter=1000)
)
pipeline.fit(X_train, y_noisy)
cleaner = pipeline.named_steps["wrongeventcleaner"]
dropped = cleaner.noise_mask_
print(
    f"dropped {dropped.sum()} of {len(y_noisy)} rows: precision {is_wrong[dropped].mean():.3f}, "
    f"recall {dropped[is_wrong].mean():.3f}"
)
baseline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
print(
    f"clean-test accuracy: with cleaning {pipeline.score(X_test, y_test):.3f}, "
    f"without {baseline.fit(X_train, y_noisy).score(X_test, y_test):.3f}"
)

# %%
# The report has cleanlab's columns and a suggested label; flagged rows with the lowest
# margin are the likeliest errors.
report = cleaner.get_label_issues()
print(report.sort_values(["is_label_issue", "margin"], ascending=[False, True]).head(8))

# %%
display = WrongEventDisplay.from_estimator(cleaner, true_noise_mask=is_wrong)
path = Path(tempfile.gettempdir()) / "wrong_events_digits.png"
display.figure_.savefig(path, dpi=100, bbox_inches="tight")
print(f"saved {path}")
