import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skwrongevent import inject_label_noise


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def seed():
    return 0


@pytest.fixture
def blobs(seed):
    """Three well-separated float32 classes, 60 rows, 4 features."""
    rng = np.random.default_rng(seed)
    centers = np.array([[3, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 0]], dtype=np.float32)
    y = np.repeat([0, 1, 2], 20)
    X = centers[y] + rng.normal(scale=0.5, size=(60, 4)).astype(np.float32)
    return X, y


@pytest.fixture(scope="session")
def noisy_digits():
    """Standardised digits, 70/30 split, 40% symmetric noise on the training labels."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    X_train = scaler.transform(X_train).astype(np.float32)
    X_test = scaler.transform(X_test).astype(np.float32)
    y_noisy, noise_mask = inject_label_noise(y_train, 0.4, random_state=0)
    return X_train, y_noisy, noise_mask, X_test, y_test


@pytest.fixture
def make_module():
    """Factory of a tiny logits module for ``n_features`` inputs and ``n_outputs`` logits."""

    def factory(n_features=4, n_outputs=3):
        with torch.random.fork_rng():  # the same weights whatever ran before
            torch.manual_seed(0)
            return torch.nn.Sequential(
                torch.nn.Linear(n_features, 16), torch.nn.ReLU(), torch.nn.Linear(16, n_outputs)
            )

    return factory
