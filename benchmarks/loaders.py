"""Data sets and networks shared by the benchmarks.

The real images and UCI letter are read from ``../shared/data`` beside the
project checkout (or the folder in ``$SKWRONGEVENT_DATA``); nothing is
downloaded. Every loader returns float32 inputs and integer labels as
``X_train, y_train, X_test, y_test``, with the test labels clean.
"""

import gzip
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

DATA = Path(
    os.environ.get("SKWRONGEVENT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
CIFAR_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip
# The classes whose images people confuse, as wrong-label pairs (the usual asymmetric
# CIFAR-10 noise): truck -> automobile, bird -> airplane, deer -> horse, cat <-> dog.
CIFAR_LOOK_ALIKE = {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}


def require(path):
    """``path`` if it exists, else a clear error naming the missing data."""
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: the benchmarks read real data from {DATA} (set "
            "SKWRONGEVENT_DATA to another folder); it is never downloaded."
        )
    return path


def standardised(X_train, X_test):
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train).astype(np.float32), scaler.transform(X_test).astype(np.float32)


def tabular(X, y):
    """A stratified 70/30 split, standardised on the training part."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    X_train, X_test = standardised(X_train, X_test)
    return X_train, y_train, X_test, y_test


def digits():
    return tabular(*load_digits(return_X_y=True))


def breast_cancer():
    return tabular(*load_breast_cancer(return_X_y=True))


def letter():
    """UCI letter: the first 16,000 rows for training, the last 4,000 for testing."""
    raw = np.genfromtxt(
        require(DATA / "uci_letter" / "letter-recognition.data"),
        delimiter=",",
        dtype=str,
        skip_header=1,
    )
    y = np.searchsorted(np.unique(raw[:, 0]), raw[:, 0])
    X = raw[:, 1:].astype(np.float32)
    X_train, X_test = standardised(X[:16000], X[16000:])
    return X_train, y[:16000], X_test, y[16000:]


def _idx(path):
    raw = gzip.open(require(path)).read()
    ndim = raw[3]
    dims = np.frombuffer(raw[4 : 4 + 4 * ndim], ">u4")
    return np.frombuffer(raw[4 + 4 * ndim :], np.uint8).reshape(dims)


def mnist(n_train=10000):
    """The first ``n_train`` training images and the test set, (N, 1, 28, 28) in [0, 1]."""
    folder = DATA / "mnist"
    images = {split: _idx(folder / f"{split}-images-idx3-ubyte.gz") for split in ("train", "t10k")}
    labels = {split: _idx(folder / f"{split}-labels-idx1-ubyte.gz") for split in ("train", "t10k")}
    X_train = (images["train"][:n_train, None] / 255).astype(np.float32)
    X_test = (images["t10k"][:, None] / 255).astype(np.float32)
    y_train, y_test = labels["train"][:n_train].astype(np.int64), labels["t10k"].astype(np.int64)
    return X_train, y_train, X_test, y_test


def _cifar_zip(path, limit=None):
    from PIL import Image

    images, labels = [], []
    with zipfile.ZipFile(require(path)) as archive:
        names = sorted(name for name in archive.namelist() if name.endswith(".jpg"))
        for name in names[:limit]:
            images.append(np.asarray(Image.open(io.BytesIO(archive.read(name))).convert("RGB")))
            labels.append(CIFAR_CLASSES.index(name.split("/")[1]))
    return np.stack(images), np.array(labels, dtype=np.int64)


def cifar(n_train=10000, n_test=None):
    """A CIFAR-10 subset as (N, 3, 32, 32), standardised per channel on the training images.

    The training images are spread over all classes: the zip lists them
    class by class, so the subset takes every ``20000 / n_train``-th one.
    """
    folder = DATA / "cifar10_jpeg"
    X_train, y_train = _cifar_zip(folder / "cifar10_train_first20000_jpeg.zip")
    keep = np.linspace(0, len(y_train) - 1, n_train).round().astype(int)
    X_train, y_train = X_train[keep], y_train[keep]
    X_test, y_test = _cifar_zip(folder / "cifar10_test_jpeg.zip")
    if n_test is not None:
        keep = np.linspace(0, len(y_test) - 1, n_test).round().astype(int)
        X_test, y_test = X_test[keep], y_test[keep]
    X_train = X_train.transpose(0, 3, 1, 2).astype(np.float32) / 255
    X_test = X_test.transpose(0, 3, 1, 2).astype(np.float32) / 255
    mean = X_train.mean(axis=(0, 2, 3), keepdims=True)
    std = X_train.std(axis=(0, 2, 3), keepdims=True)
    return (X_train - mean) / std, y_train, (X_test - mean) / std, y_test


class DigitCNN(torch.nn.Module):
    """Two convolutions and a linear layer for 1 x 8 x 8 digit images."""

    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(16, 16, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Flatten(),
        )
        self.head = torch.nn.Linear(16 * 4 * 4, 10)

    def forward(self, X):
        return self.head(self.features(X))


class MnistCNN(torch.nn.Module):
    """Two convolutions and two linear layers for 1 x 28 x 28 images."""

    def __init__(self, n_classes=10):
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
            torch.nn.Linear(128, n_classes),
        )

    def forward(self, x):
        return self.layers(x)


class _Block(torch.nn.Module):
    def __init__(self, channels_in, channels_out, stride):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False),
            torch.nn.BatchNorm2d(channels_out),
            torch.nn.ReLU(),
            torch.nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False),
            torch.nn.BatchNorm2d(channels_out),
        )
        self.skip = torch.nn.Identity()
        if stride != 1 or channels_in != channels_out:
            self.skip = torch.nn.Sequential(
                torch.nn.Conv2d(channels_in, channels_out, 1, stride, bias=False),
                torch.nn.BatchNorm2d(channels_out),
            )

    def forward(self, x):
        return torch.relu(self.body(x) + self.skip(x))


class SmallResNet(torch.nn.Module):
    """A ResNet-style network for 3 x 32 x 32 images: a stem and three residual blocks."""

    def __init__(self, n_classes=10, width=16):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Conv2d(3, width, 3, 1, 1, bias=False),
            torch.nn.BatchNorm2d(width),
            torch.nn.ReLU(),
            _Block(width, width, 1),
            _Block(width, 2 * width, 2),
            _Block(2 * width, 4 * width, 2),
            torch.nn.AdaptiveAvgPool2d(1),
            torch.nn.Flatten(),
            torch.nn.Linear(4 * width, n_classes),
        )

    def forward(self, x):
        return self.layers(x)


class ResNet18(torch.nn.Module):
    """ResNet-18 for 3 x 32 x 32 images: a 3 x 3 stem and four stages of two residual blocks."""

    def __init__(self, n_classes=10):
        super().__init__()
        blocks, channels_in = [], 64
        for channels, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            blocks += [_Block(channels_in, channels, stride), _Block(channels, channels, 1)]
            channels_in = channels
        self.layers = torch.nn.Sequential(
            torch.nn.Conv2d(3, 64, 3, 1, 1, bias=False),
            torch.nn.BatchNorm2d(64),
            torch.nn.ReLU(),
            *blocks,
            torch.nn.AdaptiveAvgPool2d(1),
            torch.nn.Flatten(),
            torch.nn.Linear(512, n_classes),
        )

    def forward(self, x):
        return self.layers(x)
