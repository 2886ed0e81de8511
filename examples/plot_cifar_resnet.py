"""
A small ResNet on CIFAR-10 with instance-dependent label noise
==============================================================

Instance-dependent noise is the hard, realistic kind: look-alike images get
the same wrong label. This example corrupts 40% of 10,000 CIFAR-10 training
images that way, trains a small ResNet through ``WrongEventClassifier`` with
the default image views (flips, crops, colour and geometry operations,
cutout), and compares it with the same network trained plainly through
skorch on the same labels. Saves the training curves to
``cifar_history.png``.

Reads the CIFAR-10 JPEG subset from ``../shared/data/cifar10_jpeg`` (or
``$SKWRONGEVENT_DATA/cifar10_jpeg``) and skips with a message if it is not
there. Needs the ``plot`` extra (matplotlib brings Pillow); about ten
minutes on a laptop CPU, well under one on a GPU.
"""

# %%
import io
import os
import sys
import zipfile
from pathlib import Path

import matplotlib
import numpy as np
import torch
from PIL import Image
from sklearn.metrics import roc_auc_score
from skorch import NeuralNetClassifier

from skwrongevent import WrongEventClassifier, inject_label_noise

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

root = Path(__file__).resolve().parents[2] / "shared" / "data"
folder = Path(os.environ.get("SKWRONGEVENT_DATA", root)) / "cifar10_jpeg"
if not folder.exists():
    print(f"Skipping: CIFAR-10 is not in {folder} (set SKWRONGEVENT_DATA to the data folder).")
    sys.exit(0)
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def read_zip(name, every):
    """Every ``every``-th image of a zip of <split>/<class>/<n>.jpg, as (N, 3, 32, 32) floats."""
    images, labels = [], []
    with zipfile.ZipFile(folder / name) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith(".jpg"))[::every]
        for member in names:
            image = Image.open(io.BytesIO(archive.read(member))).convert("RGB")
            images.append(np.asarray(image).transpose(2, 0, 1))
            labels.append(CLASSES.index(member.split("/")[1]))
    return np.stack(images).astype(np.float32) / 255, np.array(labels)


X_train, y_train = read_zip("cifar10_train_first20000_jpeg.zip", every=2)
X_test, y_test = read_zip("cifar10_test_jpeg.zip", every=2)
mean, std = X_train.mean(axis=(0, 2, 3), keepdims=True), X_train.std(axis=(0, 2, 3), keepdims=True)
X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
y_noisy, is_wrong = inject_label_noise(
    y_train, 0.4, kind="instance", X=X_train.reshape(len(X_train), -1), random_state=0
)
print(f"{len(y_train)} training images, {is_wrong.mean():.0%} of their labels wrong")


# %%
# A ResNet-style network: a stem and three residual blocks.
class Block(torch.nn.Module):
    def __init__(self, channels_in, channels_out, stride):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False),
            torch.nn.BatchNorm2d(channels_out),
            torch.nn.ReLU(),
            torch.nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False),
            torch.nn.BatchNorm2d(channels_out),
        )
        self.skip = torch.nn.Sequential(
            torch.nn.Conv2d(channels_in, channels_out, 1, stride, bias=False),
            torch.nn.BatchNorm2d(channels_out),
        )

    def forward(self, x):
        return torch.relu(self.body(x) + self.skip(x))


class ResNet(torch.nn.Module):
    def __init__(self, width=16):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Conv2d(3, width, 3, 1, 1, bias=False),
            torch.nn.BatchNorm2d(width),
            torch.nn.ReLU(),
            Block(width, width, 1),
            Block(width, 2 * width, 2),
            Block(2 * width, 4 * width, 2),
            torch.nn.AdaptiveAvgPool2d(1),
            torch.nn.Flatten(),
            torch.nn.Linear(4 * width, 10),
        )

    def forward(self, x):
        return self.layers(x)


# %%
settings = dict(max_epochs=15, lr=3e-3, batch_size=128)
robust = WrongEventClassifier(ResNet, random_state=0, **settings).fit(X_train, y_noisy)
torch.manual_seed(0)
plain = NeuralNetClassifier(
    ResNet,
    criterion=torch.nn.CrossEntropyLoss,
    optimizer=torch.optim.AdamW,
    iterator_train__shuffle=True,
    train_split=None,
    verbose=0,
    **settings,
).fit(X_train, y_noisy)
print(f"plain skorch:         clean-test accuracy {plain.score(X_test, y_test):.3f}")
print(f"WrongEventClassifier: clean-test accuracy {robust.score(X_test, y_test):.3f}")
print(f"detection AUROC:      {roc_auc_score(is_wrong, -robust.label_quality_):.3f}")

# %%
# Training loss per epoch; the robust stage's loss is IDO's, not cross-entropy.
figure, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(plain.history[:, "train_loss"], label="plain skorch (cross-entropy)")
ax.plot(robust.history[:, "train_loss"], label="WrongEventClassifier")
ax.axvline(robust.base_epoch_ - 1, color="grey", linestyle=":", label="base model")
ax.set(xlabel="epoch", ylabel="training loss", title="CIFAR-10, 40% instance-dependent noise")
ax.legend()
figure.savefig("cifar_history.png", dpi=100, bbox_inches="tight")
print("saved cifar_history.png")
