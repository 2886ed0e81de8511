"""
A CNN on MNIST with 40% wrong labels
====================================

Trains a small CNN of your own through ``WrongEventClassifier`` on the first
10,000 MNIST training images with 40% of their labels replaced by a wrong
class, then scores it on the clean test set, measures how well it finds the
wrong labels and saves the 16 most suspicious training images, with their
given and predicted labels, to ``mnist_suspicious.png``.

Reads MNIST from ``../shared/data/mnist`` (or ``$SKWRONGEVENT_DATA/mnist``)
and skips with a message if it is not there. Needs the ``plot`` extra;
about a minute on a laptop CPU, seconds on a GPU.
"""

# %%
import gzip
import os
import sys
from pathlib import Path

import matplotlib
import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from skwrongevent import ImageViews, WrongEventClassifier, inject_label_noise

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

root = Path(__file__).resolve().parents[2] / "shared" / "data"
folder = Path(os.environ.get("SKWRONGEVENT_DATA", root)) / "mnist"
if not folder.exists():
    print(f"Skipping: MNIST is not in {folder} (set SKWRONGEVENT_DATA to the data folder).")
    sys.exit(0)


def read_idx(name):
    """An IDX file (MNIST's format) as a uint8 array."""
    raw = gzip.open(folder / name).read()
    ndim = raw[3]
    shape = np.frombuffer(raw[4 : 4 + 4 * ndim], ">u4")
    return np.frombuffer(raw[4 + 4 * ndim :], np.uint8).reshape(shape)


X_train = (read_idx("train-images-idx3-ubyte.gz")[:10000, None] / 255).astype(np.float32)
y_train = read_idx("train-labels-idx1-ubyte.gz")[:10000]
X_test = (read_idx("t10k-images-idx3-ubyte.gz")[:, None] / 255).astype(np.float32)
y_test = read_idx("t10k-labels-idx1-ubyte.gz")
y_noisy, is_wrong = inject_label_noise(y_train, 0.4, random_state=0)


# %%
# Any torch module that maps a batch of images to one logit per class works.
class CNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(16, 32, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(32 * 7 * 7, 128),
            torch.nn.ReLU(),
            torch.nn.Linear(128, 10),
        )

    def forward(self, x):
        return self.layers(x)


# Mirrored digits are not digits, so the views do not flip.
clf = WrongEventClassifier(CNN, max_epochs=15, views=ImageViews(flip=False), random_state=0)
clf.fit(X_train, y_noisy)
print(f"clean-test accuracy: {clf.score(X_test, y_test):.3f}")
print(f"detection AUROC:     {roc_auc_score(is_wrong, -clf.label_quality_):.3f}")
print(f"rows flagged:        {clf.noise_mask_.sum()} (truly wrong: {is_wrong.sum()})")

# %%
# The 16 images whose labels the model trusts least.
order = np.argsort(clf.label_quality_)[:16]
predicted = clf.predict(X_train[order])
figure, axes = plt.subplots(2, 8, figsize=(12, 3.4))
for ax, row, guess in zip(axes.flat, order, predicted, strict=True):
    ax.imshow(X_train[row, 0], cmap="gray_r")
    ax.set_title(f"given {y_noisy[row]}, model {guess}", fontsize=8)
    ax.axis("off")
figure.suptitle("Least trustworthy training labels (MNIST, 40% wrong)")
figure.savefig("mnist_suspicious.png", dpi=100, bbox_inches="tight")
print("saved mnist_suspicious.png")
