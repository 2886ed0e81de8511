"""WrongEventClassifier on Hugging Face Accelerate: several GPUs, machines or CPU processes."""

import math

import numpy as np
import torch
from skorch.hf import AccelerateMixin

from ._classifier import WrongEventClassifier
from ._data import to_device


class ShardBatchSampler:
    """One process's training batches: a permutation shared by all processes, dealt out.

    Every row is in exactly one process's batches each epoch, with no
    padding, and every process gets the same number of batches (as
    distributed data parallel training needs); batch sizes differ by at
    most one row between processes.

    Parameters
    ----------
    n_rows : int
        Rows in the training set.
    batch_size : int
        Rows per batch and process; -1 for one batch.
    rank, world_size : int
        This process's index and the number of processes.
    shuffle : bool
        Whether each epoch draws a new permutation.
    seed : int
        Seeds the permutations; must be the same on every process.

    Examples
    --------
    >>> from skwrongevent import ShardBatchSampler
    >>> [list(ShardBatchSampler(7, 2, rank, 2, shuffle=False, seed=0)) for rank in (0, 1)]
    [[[0, 2], [4, 6]], [[1, 3], [5]]]
    """

    def __init__(self, n_rows, batch_size, rank, world_size, shuffle, seed):
        if n_rows < world_size:
            raise ValueError(f"{n_rows} training rows cannot be shared by {world_size} processes.")
        self.n_rows, self.rank, self.world_size = n_rows, rank, world_size
        self.shuffle, self.seed, self.epoch = shuffle, seed, 0
        per_process = n_rows // world_size
        self.n_batches = 1 if batch_size == -1 else math.ceil(per_process / batch_size)

    def __iter__(self):
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.n_rows, generator=generator)
        else:
            order = torch.arange(self.n_rows)
        self.epoch += 1
        for batch in torch.tensor_split(order[self.rank :: self.world_size], self.n_batches):
            yield batch.tolist()

    def __len__(self):
        return self.n_batches


class AcceleratedWrongEventClassifier(AccelerateMixin, WrongEventClassifier):
    """:class:`WrongEventClassifier` trained with Hugging Face Accelerate.

    skorch's ``AccelerateMixin`` on the method: run the same script with
    ``accelerate launch`` (or ``torchrun``) on one or several GPUs, on one
    or several machines, or on CPU processes. Each process trains on its
    own share of the rows; once per epoch, two sums across processes make
    every row's wrong-event count, last prediction and margin whole, so the
    prediction-change curve, the base epoch, the mixture and the
    robust-stage weights are the same on every process, and so are the
    fitted attributes. Each row is counted exactly once per epoch: the
    training batches are dealt out without the padding distributed
    samplers add. Mixed precision and gradient accumulation are the
    ``Accelerator``'s; ``save_params`` writes from the main process only.

    Parameters
    ----------
    module : torch module class or instance, default=None
        As in :class:`WrongEventClassifier`.
    accelerator : accelerate.Accelerator
        The accelerator; it places the module and batches (so ``device``
        stays None) and sets mixed precision and gradient accumulation.
    unwrap_after_train : bool, default=True
        As in skorch: the module is unwrapped after ``fit``.
    **kwargs
        Every parameter of :class:`WrongEventClassifier`. ``batch_size``
        is per process. ``iterator_train__sampler`` and
        ``iterator_train__batch_sampler`` cannot be used: the rows are
        dealt out to the processes by :class:`ShardBatchSampler`.

    See Also
    --------
    WrongEventClassifier : the same on one device.

    Examples
    --------
    In a script started with ``accelerate launch script.py`` (a single
    process when run with ``python``):

    >>> from accelerate import Accelerator
    >>> from sklearn.datasets import load_iris
    >>> from skwrongevent import AcceleratedWrongEventClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = AcceleratedWrongEventClassifier(
    ...     accelerator=Accelerator(cpu=True), max_epochs=8, random_state=0
    ... ).fit(X, y)
    >>> clf.wrong_events_.shape
    (150,)
    """

    def _initialize_accelerator(self):
        # Distributed data parallel refuses a module without trainable parameters, such as a
        # plain loss: only criteria that learn are prepared.
        criteria = self._criteria
        self._criteria = [
            name
            for name in criteria
            if any(param.requires_grad for param in getattr(self, name + "_").parameters())
        ]
        try:
            return super()._initialize_accelerator()
        finally:
            self._criteria = criteria

    def _initialize_callbacks(self):
        if self.callbacks__print_log__sink == "auto" and not self.verbose:
            # PrintLog is silent at verbose=0 only when its sink is print itself.
            self.callbacks__print_log__sink = print
        return super()._initialize_callbacks()

    def train_step_single(self, batch, **fit_params):
        # WrongEventClassifier's step (it counts wrong events and takes labels by row), not the
        # mixin's; the mixin's accelerator.backward comes in through _backward.
        with self.accelerator.autocast():
            return WrongEventClassifier.train_step_single(self, batch, **fit_params)

    def _backward(self, loss):
        self.accelerator.backward(loss)

    def _training_device(self):
        return self.accelerator.device

    def infer(self, x, **fit_params):
        return super().infer(to_device(x, self.accelerator.device), **fit_params)

    def _gather(self, tensor):
        return self.accelerator.gather_for_metrics(tensor)

    def _all_reduce(self, tensor):
        if self.accelerator.num_processes > 1:
            torch.distributed.all_reduce(tensor)

    def get_split_datasets(self, X, y=None, **fit_params):
        datasets = super().get_split_datasets(X, y, **fit_params)
        row_map = self._fit_context.row_map
        if row_map is not None and self.accelerator.num_processes > 1:
            # The rows' count, sum and sum of squares: the same in every process when the
            # processes hold out the same rows.
            rows = row_map.long()
            digest = torch.stack([torch.tensor(len(rows)), rows.sum(), (rows * rows).sum()])
            digests = self.accelerator.gather(digest[None].to(self.accelerator.device))
            if not (digests == digests[0]).all():
                raise ValueError(
                    "train_split held out different rows in different processes, so they "
                    "would train and judge different rows. Make the split the same in every "
                    "process, for example with ValidSplit(0.2, random_state=0)."
                )
        return datasets

    def _make_fit_context(self, *args, **kwargs):
        context = super()._make_fit_context(*args, **kwargs)
        # One seed for every process: the permutations, views and row samples must agree.
        seed = torch.tensor(context.random_state.randint(2**31 - 1), device=self.accelerator.device)
        if self.accelerator.num_processes > 1:
            torch.distributed.broadcast(seed, src=0)
        context.random_state = np.random.RandomState(int(seed))
        return context

    def get_iterator(self, dataset, training=False):
        if training and getattr(self, "_fit_context", None) is not None:
            # Dealt out by ShardBatchSampler, not by accelerator.prepare, whose padding would
            # count some rows twice.
            return WrongEventClassifier.get_iterator(self, dataset, training=True)
        return super().get_iterator(dataset, training=training)

    def _training_batch_sampler(self, dataset, kwargs):
        user_sampler = {"sampler", "batch_sampler"} & kwargs.keys()
        if user_sampler:
            raise ValueError(
                f"iterator_train__{user_sampler.pop()} cannot be used with "
                f"{type(self).__name__}: the rows are dealt out to the processes by "
                "ShardBatchSampler, which counts each row once per epoch."
            )
        kwargs.pop("drop_last", None)
        return ShardBatchSampler(
            len(dataset),
            kwargs.pop("batch_size", self.batch_size),
            self.accelerator.process_index,
            self.accelerator.num_processes,
            kwargs.pop("shuffle", False),
            int(self._fit_context.random_state.randint(2**31 - 1)),
        )
