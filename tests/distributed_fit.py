"""Fits AcceleratedWrongEventClassifier on noisy digits and saves what each process ends with.

Run by ``test_distributed.py`` as ``torchrun --nproc_per_node N tests/distributed_fit.py
BATCH_SIZE OUT [seeded|unseeded]``, and as a single process with ``python``. The last
argument holds a fifth of the rows out for validation, with a seeded or unseeded draw.
"""

import os
import sys
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
from skorch.dataset import ValidSplit

from skwrongevent import AcceleratedWrongEventClassifier, inject_label_noise

N_ROWS = 1001  # not a multiple of any process count times batch size: a sampler would pad


def main(batch_size, out, split=None):
    torch.set_num_threads(1)
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X[:N_ROWS]).astype(np.float32)
    y_noisy, is_wrong = inject_label_noise(y[:N_ROWS], 0.4, random_state=0)
    accelerator = Accelerator(cpu=True)
    if split is not None:  # a validation split, with or without a seed for its draw
        seed = None if split == "unseeded" else 0
        train_split = ValidSplit(0.2, random_state=seed)
        # Processes whose global generators differ draw different splits unless seeded.
        np.random.seed(accelerator.process_index)  # noqa: NPY002 (what ValidSplit draws from)
    else:
        train_split = None
    clf = AcceleratedWrongEventClassifier(
        accelerator=accelerator,
        max_epochs=16,
        batch_size=batch_size,
        random_state=0,
        train_split=train_split,
    ).fit(X, y_noisy)
    mixture = clf.mixture_
    np.savez(
        Path(out) / f"process{accelerator.process_index}.npz",
        is_wrong=is_wrong,
        n_processes=accelerator.num_processes,
        wrong_events=clf.wrong_events_,
        cleanliness=clf.sample_cleanliness_,
        margin=clf.sample_margin_,
        label_quality=clf.label_quality_,
        noise_mask=clf.noise_mask_,
        predicted_labels=clf.predicted_labels_,
        rows_counted=clf.history_[:, "rows_counted"],
        stage=clf.history_[:, "stage"],
        mixture=np.r_[mixture.alphas_, mixture.betas_, mixture.weights_],
        base_epoch=clf.base_epoch_,
        proba=clf.predict_proba(X),
    )
    accelerator.wait_for_everyone()
    accelerator.end_training()


if __name__ == "__main__":
    main(int(sys.argv[1]), *sys.argv[2:])
    # gloo's threads can abort the interpreter's own teardown ("terminate called without an
    # active exception") after everything is written: leave without it.
    os._exit(0)
