"""Distributed fits: two CPU processes under torchrun against one process."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from skwrongevent import ShardBatchSampler

SCRIPT = Path(__file__).with_name("distributed_fit.py")


@pytest.mark.parametrize("n_rows, batch_size, world_size", [(7, 2, 2), (1001, 16, 2), (10, 3, 3)])
def test_shards_hold_every_row_once_in_equal_numbers_of_batches(n_rows, batch_size, world_size):
    shards = [
        ShardBatchSampler(n_rows, batch_size, rank, world_size, shuffle=True, seed=5)
        for rank in range(world_size)
    ]
    for _ in range(2):  # two epochs, two permutations
        batches = [list(shard) for shard in shards]
        assert len({len(process) for process in batches}) == 1
        assert all(batch for process in batches for batch in process)  # no empty batch
        rows = sorted(row for process in batches for batch in process for row in batch)
        assert rows == list(range(n_rows))
    assert batches != [list(shard) for shard in shards]


def test_too_few_rows_for_the_processes_raise():
    with pytest.raises(ValueError, match="2 training rows cannot be shared by 3"):
        ShardBatchSampler(2, 1, 0, 3, shuffle=False, seed=0)


def _run(command, out, *extra, check=True):
    out.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, *command, str(out), *extra],
        env=env,
        timeout=300,
        capture_output=True,
        text=True,
    )
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


LAUNCH = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]


@pytest.fixture(scope="module")
def fits(tmp_path_factory):
    pytest.importorskip("accelerate")
    root = tmp_path_factory.mktemp("distributed")
    _run([*LAUNCH, str(SCRIPT), "16"], root / "two")
    _run([str(SCRIPT), "32"], root / "one")  # the same rows per optimizer step
    load = np.load
    return [load(root / "two" / f"process{rank}.npz") for rank in (0, 1)], load(
        root / "one" / "process0.npz"
    )


def test_every_process_ends_with_the_same_rows_and_mixture(fits):
    (first, second), single = fits
    assert first["n_processes"] == 2 and single["n_processes"] == 1
    for name in first.files:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)


def test_each_row_is_counted_exactly_once_per_epoch(fits):
    (first, _), _ = fits
    n_rows = len(first["wrong_events"])
    assert n_rows % (2 * 16)  # a padding sampler would repeat rows here
    assert first["rows_counted"].tolist() == [n_rows] * len(first["stage"])
    warmup = int((first["stage"] == 1).sum())
    assert first["wrong_events"].max() <= warmup + 2 * (len(first["stage"]) - warmup)


def test_two_processes_judge_as_well_as_one(fits):
    (first, _), single = fits
    auroc = []
    for fit in (first, single):
        auroc.append(roc_auc_score(fit["is_wrong"], -fit["label_quality"]))
    assert auroc[1] > 0.95
    assert abs(auroc[0] - auroc[1]) <= 0.01


def test_a_user_sampler_is_refused_with_the_reason():
    accelerate = pytest.importorskip("accelerate")
    import torch

    from skwrongevent import AcceleratedWrongEventClassifier

    X = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    y = np.arange(40) % 2
    clf = AcceleratedWrongEventClassifier(
        accelerator=accelerate.Accelerator(cpu=True),
        iterator_train__sampler=torch.utils.data.RandomSampler(range(40)),
        max_epochs=2,
    )
    with pytest.raises(ValueError, match="iterator_train__sampler cannot be used"):
        clf.fit(X, y)


def test_a_validation_split_must_hold_out_the_same_rows_in_every_process(tmp_path):
    pytest.importorskip("accelerate")
    done = _run([*LAUNCH, str(SCRIPT), "16"], tmp_path / "unseeded", "unseeded", check=False)
    assert done.returncode != 0
    assert "held out different rows in different processes" in done.stderr
    _run([*LAUNCH, str(SCRIPT), "16"], tmp_path / "seeded", "seeded")
    first, second = (np.load(tmp_path / "seeded" / f"process{rank}.npz") for rank in (0, 1))
    for name in first.files:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
    held_out = np.isnan(first["cleanliness"])
    assert abs(held_out.mean() - 0.2) < 0.01
    assert not first["noise_mask"][held_out].any()
    assert first["rows_counted"].tolist() == [(~held_out).sum()] * len(first["stage"])
