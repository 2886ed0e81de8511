"""The data sets, label noise and networks of the benchmarks.

Real data is read from ``../shared/data`` beside the checkout (or the folder
in ``$SKWRONGEVENT_DATA``); nothing is downloaded. Every loader returns
``X_train, y_train, X_test, y_test`` with float32 inputs, integer labels and
clean test labels.
"""

import functools
import gzip
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn import datasets
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skwrongevent import inject_label_noise

DATA = Path(
    os.environ.get("SKWRONGEVENT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
CIFAR_CLASSES = "airplane automobile bird cat deer dog frog horse ship truck".split()
# Wrong-label pairs people make on CIFAR-10: truck -> automobile, bird -> airplane,
# deer -> horse, cat <-> dog.
CIFAR_LOOK_ALIKE = {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}
HEADED_TABLES = {"segment-challenge", "soybean", "hypothyroid"}


def require(path):
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: the benchmarks read real data from {DATA} (set "
            "SKWRONGEVENT_DATA to another folder); it is never downloaded."
        )
    return path


def split(X, y, seed=0, scale=True):
    """A stratified 70/30 split; numeric features standardised on the training part."""
    counts = np.unique(y, return_counts=True)[1]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=seed, stratify=y if counts.min() >= 2 else None
    )
    if scale:
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    return np.float32(X_train), y_train, np.float32(X_test), y_test


def sklearn_set(name, seed=0, scale=True):
    """digits, breast_cancer, wine or iris, split."""
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return split(X, y, seed, scale)


def digit_images(seed=0):
    X, y = datasets.load_digits(return_X_y=True)
    return split((X / 16).reshape(-1, 1, 8, 8), y, seed, scale=False)


# make_classification's settings of each synthetic table, and whether the fit's seed draws it.
SYNTHETIC = {
    "imbalanced 90/8/2": (dict(n_samples=3000, n_features=10, n_informative=5, n_classes=3,
                               weights=[0.9, 0.08, 0.02]), False),
    "imbalanced 5": (dict(n_samples=2000, n_features=12, n_informative=6, n_classes=5,
                          weights=[0.6, 0.2, 0.1, 0.07, 0.03], n_clusters_per_class=1), True),
    "binary 95/5": (dict(n_samples=2000, n_features=10, n_informative=4, weights=[0.95]), True),
    "hard 3": (dict(n_samples=2000, n_features=20, n_informative=3, n_redundant=2, n_classes=3,
                    class_sep=0.7), True),
    "skorch README": (dict(n_samples=1000, n_features=20, n_informative=10), False),
    "scales": (dict(n_samples=1500, n_features=8, n_informative=5, n_classes=4), True),
}  # fmt: skip


def synthetic(name, seed=0):
    """Two moons or a table of ``SYNTHETIC``; "scales" has features from 0.01 to 10,000."""
    if name == "moons":
        X, y = datasets.make_moons(1500, noise=0.25, random_state=seed)
    else:
        params, seeded = SYNTHETIC[name]
        X, y = datasets.make_classification(**params, random_state=seed if seeded else 0)
    if name == "scales":
        X = X * np.array([1, 10, 100, 1000, 1, 1, 0.01, 1e4]) + 50
    return split(X, y, seed, scale=False)


@functools.lru_cache
def letter():
    """UCI letter: the first 16,000 rows for training, the last 4,000 for testing."""
    path = require(DATA / "uci_letter" / "letter-recognition.data")
    raw = np.genfromtxt(path, delimiter=",", dtype=str, skip_header=1)
    X, y = raw[:, 1:].astype(np.float32), np.unique(raw[:, 0], return_inverse=True)[1]
    scaler = StandardScaler().fit(X[:16000])
    X = np.float32(scaler.transform(X))
    return X[:16000], y[:16000], X[16000:], y[16000:]


def uci_table(name, seed=0):
    """A table of ``uci_tables``: numeric columns imputed and standardised, text one-hot.

    abalone's ring counts become 3 age groups. Labels are the codes of the
    classes in the training part; a test row of a class it lacks gets -1.
    """
    path = require(DATA / "uci_tables" / f"{name}.csv")
    headed = name in HEADED_TABLES
    frame = pd.read_csv(path) if headed else pd.read_csv(path, header=None, na_values="?")
    X, y = frame.iloc[:, :-1], frame.iloc[:, -1]
    if name == "abalone":
        y = pd.cut(y, [0, 8, 10, np.inf], labels=["young", "adult", "old"])
    X.columns = [str(column) for column in X.columns]
    y = np.unique(np.asarray(y).astype(str), return_inverse=True)[1]
    counts = np.unique(y, return_counts=True)[1]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=seed, stratify=y if counts.min() >= 2 else None
    )
    text = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    numeric = [c for c in X.columns if c not in text]
    one_hot = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    encoder = ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("text", make_pipeline(SimpleImputer(strategy="most_frequent"), one_hot), text),
    ])  # fmt: skip
    trained = np.unique(y_train)
    y_test = np.where(np.isin(y_test, trained), np.searchsorted(trained, y_test), -1)
    X_train = np.float32(encoder.fit_transform(X_train))
    return X_train, np.searchsorted(trained, y_train), np.float32(encoder.transform(X_test)), y_test


def uci_table_names():
    return sorted(path.stem for path in (DATA / "uci_tables").glob("*.csv"))


def _idx(path):
    raw = gzip.open(require(path)).read()
    dims = np.frombuffer(raw[4 : 4 + 4 * raw[3]], ">u4")
    return np.frombuffer(raw[4 + 4 * raw[3] :], np.uint8).reshape(dims)


@functools.lru_cache
def mnist(n_train=10000):
    """The first ``n_train`` training images and the test set, (N, 1, 28, 28) in [0, 1]."""
    images = [_idx(DATA / "mnist" / f"{s}-images-idx3-ubyte.gz") for s in ("train", "t10k")]
    labels = [_idx(DATA / "mnist" / f"{s}-labels-idx1-ubyte.gz") for s in ("train", "t10k")]
    X_train, X_test = (
        np.float32(images[0][:n_train, None] / 255),
        np.float32(images[1][:, None] / 255),
    )
    return X_train, labels[0][:n_train].astype(np.int64), X_test, labels[1].astype(np.int64)


def _cifar_zip(path):
    from PIL import Image

    images, labels = [], []
    with zipfile.ZipFile(require(path)) as archive:
        for name in sorted(n for n in archive.namelist() if n.endswith(".jpg")):
            images.append(np.asarray(Image.open(io.BytesIO(archive.read(name))).convert("RGB")))
            labels.append(CIFAR_CLASSES.index(name.split("/")[1]))
    return np.stack(images).transpose(0, 3, 1, 2) / np.float32(255), np.array(labels)


@functools.lru_cache
def cifar(n_train=10000):
    """A CIFAR-10 subset spread over the classes, standardised per channel."""
    folder = DATA / "cifar10_jpeg"
    X_train, y_train = _cifar_zip(folder / "cifar10_train_first20000_jpeg.zip")
    keep = np.linspace(0, len(y_train) - 1, n_train).round().astype(int)
    X_train, y_train = X_train[keep], y_train[keep]
    X_test, y_test = _cifar_zip(folder / "cifar10_test_jpeg.zip")
    mean = X_train.mean(axis=(0, 2, 3), keepdims=True)
    std = X_train.std(axis=(0, 2, 3), keepdims=True)
    return np.float32((X_train - mean) / std), y_train, np.float32((X_test - mean) / std), y_test


def noisy_labels(y, noise, X=None, seed=0, look_alike=None):
    """``y`` with ``noise`` ("clean", "symmetric 40%", "pair 20%", "instance 40%",
    "look-alike 20%") injected; returns the labels and which are wrong."""
    if noise == "clean":
        return y, np.zeros(len(y), dtype=bool)
    kind, rate = noise.rsplit(" ", 1)
    pairs = look_alike if kind == "look-alike" else None
    kind = "pair" if pairs else kind
    flat = None if X is None else X.reshape(len(X), -1)
    return inject_label_noise(
        y, float(rate.rstrip("%")) / 100, kind=kind, X=flat, pairs=pairs, random_state=seed
    )


# ---------------------------------------------------------------------------
# Networks: module classes, as a user passes them (importable, so that fits pickle)
# ---------------------------------------------------------------------------

nn = torch.nn


class Layers(nn.Module):
    """A network of ``build(**params)``'s layers, in order."""

    def __init__(self, **params):
        super().__init__()
        self.layers = nn.Sequential(*self.build(**params))

    def forward(self, X):
        return self.layers(X)


def network(name, build, doc):
    return type(
        name, (Layers,), {"build": staticmethod(build), "__doc__": doc, "__module__": __name__}
    )


def _conv(channels_in, channels_out, stride=1):
    return [
        nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False),
        nn.BatchNorm2d(channels_out),
    ]


class Block(nn.Module):
    """A residual block of two 3 x 3 convolutions."""

    def __init__(self, channels_in, channels_out, stride):
        super().__init__()
        self.body = nn.Sequential(
            *_conv(channels_in, channels_out, stride), nn.ReLU(), *_conv(channels_out, channels_out)
        )
        self.skip = nn.Identity()
        if stride != 1 or channels_in != channels_out:
            self.skip = nn.Sequential(
                nn.Conv2d(channels_in, channels_out, 1, stride, bias=False),
                nn.BatchNorm2d(channels_out),
            )

    def forward(self, x):
        return torch.relu(self.body(x) + self.skip(x))


def resnet(stages):
    """Layers for 3 x 32 x 32 images: a stem, then (channels, stride, blocks) stages."""
    layers, width = [*_conv(3, stages[0][0]), nn.ReLU()], stages[0][0]
    for channels, stride, blocks in stages:
        for index in range(blocks):
            layers.append(Block(width, channels, stride if index == 0 else 1))
            width = channels
    return [*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10)]


ReadmeModule = network("ReadmeModule", lambda: [
    nn.Linear(20, 10), nn.ReLU(), nn.Dropout(0.5), nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 2),
], "skorch's README example module (20-10-10-2, dropout 0.5), returning logits.")  # fmt: skip
DropoutMLP = network("DropoutMLP", lambda n_classes=2: [
    nn.LazyLinear(32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 32), nn.ReLU(),
    nn.Linear(32, n_classes),
], "Two hidden layers of 32 units with dropout 0.5, no input scaling.")  # fmt: skip
DigitCNN = network("DigitCNN", lambda: [
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
    nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 10),
], "Two convolutions and a linear layer for 1 x 8 x 8 digit images.")  # fmt: skip
MnistCNN = network("MnistCNN", lambda: [
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1),
    nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(),
    nn.Linear(128, 10),
], "Two convolutions and two linear layers for 1 x 28 x 28 images.")  # fmt: skip
SmallResNet = network(
    "SmallResNet", lambda: resnet([(16, 1, 1), (32, 2, 1), (64, 2, 1)]),
    "A stem and three residual blocks of 16, 32 and 64 channels.",
)  # fmt: skip
ResNet18 = network(
    "ResNet18", lambda: resnet([(64, 1, 2), (128, 2, 2), (256, 2, 2), (512, 2, 2)]),
    "ResNet-18: four stages of two residual blocks.",
)  # fmt: skip
