"""Counting wrong events on a pretrained backbone against counting from scratch.

Question: with 40% instance-dependent wrong labels on CIFAR-10, do the
counts of a network fine-tuned from a pretrained backbone separate the
wrong labels from merely hard images better than the counts of the same
network trained from scratch, and what does that do to accuracy?

No pretrained weights can be downloaded here, so the backbone is pretrained
without labels on the training images themselves: a small ResNet learns to
tell by how much (0, 90, 180 or 270 degrees) an image was rotated. Its
layers up to the pooled features become the backbone; fine-tuning adds a new
10-class head, trained at ``lr`` while the backbone trains at ``lr`` times
``--backbone-lr`` (a tenth by default; skorch's ``optimizer__param_groups``).
The test images are never seen.

Methods, all with the same network, 15 epochs and lr: plain skorch and
``WrongEventClassifier``, each from scratch and from the backbone.
Reported: clean-test accuracy, detection AUROC of the report's order
(flagged rows first, then by margin) and of the raw counts, fit time.

Command (about 15 minutes on 2 CPU cores)::

    python benchmarks/bench_finetune.py [--n-train 10000] [--pretrain-epochs 4] [--backbone-lr 0.1]

Writes ``benchmarks/results/finetune.md`` (``finetune_backbone-lr-X.md`` for
another ``--backbone-lr``).
"""

import argparse
import time
from pathlib import Path

import torch
from loaders import SmallResNet, cifar
from sklearn.metrics import roc_auc_score

from skwrongevent import NetClassifier, WrongEventClassifier, inject_label_noise

RESULTS = Path(__file__).parent / "results"
SETTINGS = dict(max_epochs=15, lr=3e-3, batch_size=128, random_state=0)
HEAD = "layers.8"  # SmallResNet's last layer: the classifier on the pooled features


class Rotations(torch.utils.data.Dataset):
    """Every image in its four rotations, labelled by the number of quarter turns."""

    def __init__(self, X):
        self.X = torch.as_tensor(X)

    def __len__(self):
        return 4 * len(self.X)

    def __getitem__(self, index):
        turns = index % 4
        return torch.rot90(self.X[index // 4], turns, dims=(1, 2)), turns


def pretrain_backbone(X, epochs):
    """Weights of a SmallResNet taught to predict rotations, without its head."""
    net = NetClassifier(SmallResNet, module__n_classes=4, **{**SETTINGS, "max_epochs": epochs})
    net.fit(Rotations(X), y=None)
    state = net.module_.state_dict()
    return {name: value for name, value in state.items() if not name.startswith(HEAD)}


class Pretrained(SmallResNet):
    """SmallResNet whose layers before the head start from ``backbone`` weights."""

    def __init__(self, backbone, n_classes=10):
        super().__init__(n_classes=n_classes)
        missing, unexpected = self.load_state_dict(backbone, strict=False)
        assert not unexpected and all(name.startswith(HEAD) for name in missing)


def detection(model, is_wrong):
    return (
        roc_auc_score(is_wrong, -model.label_quality_),
        roc_auc_score(is_wrong, model.wrong_events_),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--pretrain-epochs", type=int, default=4)
    parser.add_argument("--backbone-lr", type=float, default=0.1, help="times the head's lr")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    X_train, y_train, X_test, y_test = cifar(args.n_train)
    flat = X_train.reshape(len(X_train), -1)
    y_noisy, is_wrong = inject_label_noise(y_train, 0.4, kind="instance", X=flat, random_state=0)
    start = time.perf_counter()
    backbone = pretrain_backbone(X_train, args.pretrain_epochs)
    pretrain_seconds = time.perf_counter() - start
    backbone_lr = SETTINGS["lr"] * args.backbone_lr
    backbone_lr = dict(optimizer__param_groups=[("layers.[0-7].*", {"lr": backbone_lr})])
    starts = {
        "from scratch": dict(module=SmallResNet),
        "pretrained backbone": dict(module=Pretrained, module__backbone=backbone, **backbone_lr),
    }
    lines = [
        f"Made by `python benchmarks/bench_finetune.py --n-train {args.n_train} "
        f"--pretrain-epochs {args.pretrain_epochs} --backbone-lr {args.backbone_lr}` on device "
        f"{args.device}: CIFAR-10, "
        f"{args.n_train} training images, 40% instance-dependent noise, {len(y_test)} clean "
        f"test images, {SETTINGS['max_epochs']} epochs, lr {SETTINGS['lr']}. Pretraining by "
        f"rotation prediction took {pretrain_seconds:.0f} s.",
        "",
        "| start | method | clean-test accuracy | detection AUROC: report order / counts "
        "| flagged | fit time (s) |",
        "|---|---|---|---|---|---|",
    ]
    for start_name, params in starts.items():
        for method in (NetClassifier, WrongEventClassifier):
            start = time.perf_counter()
            model = method(device=args.device, **SETTINGS, **params).fit(X_train, y_noisy)
            seconds = time.perf_counter() - start
            accuracy = model.score(X_test, y_test)
            if method is WrongEventClassifier:
                ranked, counts = detection(model, is_wrong)
                found = f"{ranked:.3f} / {counts:.3f} | {model.noise_mask_.mean():.2f}"
            else:
                found = "- | -"
            lines.append(
                f"| {start_name} | {method.__name__} | {accuracy:.3f} | {found} | {seconds:.0f} |"
            )
            print(lines[-1], flush=True)
    RESULTS.mkdir(exist_ok=True)
    suffix = "" if args.backbone_lr == 0.1 else f"_backbone-lr-{args.backbone_lr:g}"
    (RESULTS / f"finetune{suffix}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
