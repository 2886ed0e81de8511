"""
Fine-tuning a pretrained backbone on noisy labels
=================================================

Most image models are fine-tuned, not trained from scratch: a backbone
pretrained elsewhere, a new head for the task. ``WrongEventClassifier``
counts wrong events on the fine-tuning run itself, so a backbone that
already sees the images' content learns the easy ones within an epoch or
two, and the rows it keeps getting wrong are more often wrong labels than
hard images.

Pass your own backbone weights with ``--checkpoint PATH`` (a state dict of
the ``Net`` below, saved with ``torch.save``; its head is not loaded).
Without one, this script pretrains the backbone without labels on the
training images themselves: it learns to tell by how many quarter turns an
image was rotated. Nothing is downloaded, and the test images are never
seen. A checkpoint's backbone then trains at a tenth of the head's learning
rate (skorch's ``optimizer__param_groups``); the rotation-pretrained one,
weaker, at the head's rate (held at a tenth, it could not adapt to the
classes; see docs/inputs.md).

Reads the CIFAR-10 JPEG subset from ``../shared/data/cifar10_jpeg`` (or
``$SKWRONGEVENT_DATA/cifar10_jpeg``) and skips with a message if it is not
there. Needs Pillow (the ``plot`` extra brings it); about five minutes on a
laptop CPU.
"""

# %%
import argparse
import io
import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sklearn.metrics import roc_auc_score

from skwrongevent import NetClassifier, WrongEventClassifier, inject_label_noise

parser = argparse.ArgumentParser(description="Fine-tune a pretrained backbone on noisy labels.")
parser.add_argument("--checkpoint", help="a state dict of Net to start the backbone from")
parser.add_argument("--n-train", type=int, default=5000)
args = parser.parse_args()

root = Path(__file__).resolve().parents[2] / "shared" / "data"
folder = Path(os.environ.get("SKWRONGEVENT_DATA", root)) / "cifar10_jpeg"
if not folder.exists():
    print(f"Skipping: CIFAR-10 is not in {folder} (set SKWRONGEVENT_DATA to the data folder).")
    sys.exit(0)
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def read_zip(name, n_images):
    """``n_images`` spread over a zip of <split>/<class>/<n>.jpg, as (N, 3, 32, 32) floats."""
    with zipfile.ZipFile(folder / name) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith(".jpg"))
        names = [names[i] for i in np.linspace(0, len(names) - 1, n_images).astype(int)]
        images = [np.asarray(Image.open(io.BytesIO(archive.read(n))).convert("RGB")) for n in names]
        labels = [CLASSES.index(n.split("/")[1]) for n in names]
    return np.stack(images).transpose(0, 3, 1, 2).astype(np.float32) / 255, np.array(labels)


X_train, y_train = read_zip("cifar10_train_first20000_jpeg.zip", args.n_train)
X_test, y_test = read_zip("cifar10_test_jpeg.zip", 5000)
mean, std = X_train.mean(axis=(0, 2, 3), keepdims=True), X_train.std(axis=(0, 2, 3), keepdims=True)
X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
y_noisy, is_wrong = inject_label_noise(
    y_train, 0.4, kind="instance", X=X_train.reshape(len(X_train), -1), random_state=0
)
print(f"{len(y_train)} training images, {is_wrong.mean():.0%} of their labels wrong")


# %%
# The network: a convolutional backbone and a linear head.
class Net(torch.nn.Module):
    def __init__(self, n_classes=10, backbone=None):
        super().__init__()
        self.backbone = torch.nn.Sequential(
            *[
                layer
                for channels_in, channels_out in [(3, 32), (32, 64), (64, 128)]
                for layer in (
                    torch.nn.Conv2d(channels_in, channels_out, 3, padding=1, bias=False),
                    torch.nn.BatchNorm2d(channels_out),
                    torch.nn.ReLU(),
                    torch.nn.MaxPool2d(2),
                )
            ],
            torch.nn.AdaptiveAvgPool2d(1),
            torch.nn.Flatten(),
        )
        self.head = torch.nn.Linear(128, n_classes)
        if backbone is not None:
            self.backbone.load_state_dict(backbone)

    def forward(self, x):
        return self.head(self.backbone(x))


# %%
# The backbone: a user's checkpoint, or one pretrained here by predicting rotations.
class Rotations(torch.utils.data.Dataset):
    """Every image in its four rotations, labelled by the number of quarter turns."""

    def __init__(self, X):
        self.X = torch.as_tensor(X)

    def __len__(self):
        return 4 * len(self.X)

    def __getitem__(self, index):
        return torch.rot90(self.X[index // 4], index % 4, dims=(1, 2)), index % 4


if args.checkpoint:
    state = torch.load(args.checkpoint, map_location="cpu")
    backbone_lr = 3e-4
    print(f"backbone from {args.checkpoint}")
else:
    pretext = NetClassifier(Net, module__n_classes=4, max_epochs=3, lr=3e-3, random_state=0)
    state = pretext.fit(Rotations(X_train), y=None).module_.state_dict()
    backbone_lr = 3e-3
    print("backbone pretrained on the training images' rotations")
backbone = {k.removeprefix("backbone."): v for k, v in state.items() if k.startswith("backbone.")}

# %%
# Fine-tuning: a new head at lr, the backbone at its own rate.
settings = dict(max_epochs=12, lr=3e-3, random_state=0)
fine_tuning = dict(
    module__backbone=backbone, optimizer__param_groups=[("backbone.*", {"lr": backbone_lr})]
)
for name, params in [("from scratch", {}), ("fine-tuned", fine_tuning)]:
    plain = NetClassifier(Net, **settings, **params).fit(X_train, y_noisy)
    robust = WrongEventClassifier(Net, **settings, **params).fit(X_train, y_noisy)
    print(
        f"{name:>12}: plain {plain.score(X_test, y_test):.3f}, "
        f"WrongEventClassifier {robust.score(X_test, y_test):.3f}, "
        f"detection AUROC {roc_auc_score(is_wrong, robust.wrong_events_):.3f}"
    )
