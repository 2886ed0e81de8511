"""skwrongevent: classifiers that stay accurate when training labels are wrong.

Implements IDO (Zhang et al., NeurIPS 2025) as scikit-learn estimators on
skorch: count each training row's wrong events, model the counts with a
beta mixture, and train with a per-row, dynamically weighted loss.
"""

from ._accelerate import AcceleratedWrongEventClassifier, ShardBatchSampler
from ._base import NetClassifier
from ._classifier import WrongEventClassifier
from ._cleaner import WrongEventCleaner, find_label_issues
from ._ido import WrongEventTracker, label_margin, robust_loss, select_base_epoch
from ._mixture import BetaMixture, WrongEventMixture
from ._modules import MLP
from ._noise import inject_label_noise
from ._plotting import WrongEventDisplay
from ._verdict import Verdict, WrongEventWarning, evidence_strength, judge, margin_auroc
from ._views import ImageViews, TabularViews

__version__ = "0.1.0.dev0"

__all__ = [
    "MLP",
    "AcceleratedWrongEventClassifier",
    "BetaMixture",
    "ImageViews",
    "NetClassifier",
    "ShardBatchSampler",
    "TabularViews",
    "WrongEventClassifier",
    "WrongEventCleaner",
    "WrongEventDisplay",
    "WrongEventTracker",
    "WrongEventMixture",
    "WrongEventWarning",
    "Verdict",
    "find_label_issues",
    "evidence_strength",
    "inject_label_noise",
    "judge",
    "label_margin",
    "margin_auroc",
    "robust_loss",
    "select_base_epoch",
]
