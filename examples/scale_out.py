"""Train on several processes with Hugging Face Accelerate.

Runs as is on one machine's CPUs with two processes (gloo)::

    torchrun --nproc_per_node 2 examples/scale_out.py

and on every GPU of a machine with ``accelerate launch --multi_gpu
examples/scale_out.py`` (or after ``accelerate config``). Each process
trains on its own share of the rows; every process ends with the same
verdict, and only the main process prints.
"""

import numpy as np
import torch
from accelerate import Accelerator
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skwrongevent import AcceleratedWrongEventClassifier, inject_label_noise

torch.set_num_threads(1)  # one core per process
accelerator = Accelerator(cpu=not torch.cuda.is_available())  # CPU processes use gloo
X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X).astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
y_noisy, is_wrong = inject_label_noise(y_train, 0.4, random_state=0)

clf = AcceleratedWrongEventClassifier(
    accelerator=accelerator,
    batch_size=128 // accelerator.num_processes,  # the same rows per step on any process count
    random_state=0,
).fit(X_train, y_noisy)

accelerator.print(
    f"{accelerator.num_processes} process(es): test accuracy {clf.score(X_test, y_test):.3f}, "
    f"noise-detection AUROC {roc_auc_score(is_wrong, -clf.label_quality_):.3f}, "
    f"{clf.noise_mask_.mean():.0%} of rows flagged"
)
accelerator.end_training()
