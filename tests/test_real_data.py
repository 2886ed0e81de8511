"""Slow end-to-end runs on the real data in ../shared/data (``pytest -m slow``)."""

import gzip
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from skorch import NeuralNetClassifier

from skwrongevent import ImageViews, WrongEventClassifier, inject_label_noise

DATA = Path(
    os.environ.get("SKWRONGEVENT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
# Quality on real data; the verdict's warnings are tested in test_classifier.py.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::skwrongevent.WrongEventWarning"),
]


def read_idx(path):
    raw = gzip.open(path).read()
    ndim = raw[3]
    shape = np.frombuffer(raw[4 : 4 + 4 * ndim], ">u4")
    return np.frombuffer(raw[4 + 4 * ndim :], np.uint8).reshape(shape)


@pytest.fixture(scope="module")
def mnist():
    folder = DATA / "mnist"
    if not folder.exists():
        pytest.skip(f"MNIST is not in {folder}")
    X = (read_idx(folder / "train-images-idx3-ubyte.gz")[:4000, None] / 255).astype(np.float32)
    y = read_idx(folder / "train-labels-idx1-ubyte.gz")[:4000]
    return X[:3000], y[:3000], X[3000:], y[3000:]


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
            torch.nn.Linear(32 * 7 * 7, 10),
        )

    def forward(self, x):
        return self.layers(x)


def plain_accuracy(X_train, y_train, X_test, y_test):
    torch.manual_seed(0)
    net = NeuralNetClassifier(
        CNN,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.AdamW,
        lr=3e-3,
        max_epochs=15,
        batch_size=128,
        iterator_train__shuffle=True,
        train_split=None,
        verbose=0,
    )
    return net.fit(X_train, y_train).score(X_test, y_test)


# Pair noise at 40% leaves each class only 60:40 against its neighbour: less is expected, but
# still more than from the same CNN trained plainly.
@pytest.mark.parametrize("kind, min_auroc", [("symmetric", 0.95), ("pair", 0.8)])
def test_mnist_cnn_with_40_percent_noise(mnist, kind, min_auroc):
    X_train, y_train, X_test, y_test = mnist
    y_noisy, is_wrong = inject_label_noise(y_train, 0.4, kind=kind, random_state=0)
    clf = WrongEventClassifier(CNN, max_epochs=15, views=ImageViews(flip=False), random_state=0)
    clf.fit(X_train, y_noisy)
    assert roc_auc_score(is_wrong, 1 - clf.sample_cleanliness_) > min_auroc
    assert clf.score(X_test, y_test) > plain_accuracy(X_train, y_noisy, X_test, y_test) + 0.03


@pytest.mark.cuda
def test_mnist_cnn_on_the_gpu_matches_the_cpu_quality(mnist):
    X_train, y_train, X_test, y_test = mnist
    y_noisy, is_wrong = inject_label_noise(y_train, 0.4, random_state=0)
    clf = WrongEventClassifier(
        CNN, max_epochs=15, views=ImageViews(flip=False), random_state=0, mixed_precision=True
    )
    clf.fit(X_train, y_noisy)
    assert clf.device == "cuda"
    assert roc_auc_score(is_wrong, 1 - clf.sample_cleanliness_) > 0.95
    assert clf.score(X_test, y_test) > 0.9
