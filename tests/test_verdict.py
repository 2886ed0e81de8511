"""The verdict policy on arrays: nothing here trains a network."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from skwrongevent import WrongEventMixture, WrongEventWarning, judge
from skwrongevent._verdict import (
    beats_chance,
    better_network,
    evidence_strength,
    margin_auroc,
    warn,
)


def _judged(counts, codes, n_classes=2, **kwargs):
    counts, codes = np.asarray(counts, dtype=int), np.asarray(codes)
    mixture = WrongEventMixture(n_classes=n_classes, max_count=int(counts.max()))
    return judge(mixture.fit(counts, codes), counts, codes, **kwargs)


def test_heavy_noise_spread_over_many_classes_is_not_guarded():
    # 60% of every class wrong, spread over 9 other classes: each class's own label is still
    # its rows' most common true class, so the verdict stands.
    rng = np.random.default_rng(0)
    codes = np.repeat(np.arange(10), 100)
    wrong = rng.random(1000) < 0.6
    counts = np.where(wrong, 9, 0)
    predicted = np.where(wrong, (codes + rng.integers(1, 10, 1000)) % 10, codes)
    verdict = _judged(counts, codes, 10, predicted=predicted)
    assert verdict.capped_classes.size == verdict.withheld_classes.size == 0
    np.testing.assert_array_equal(verdict.noise_mask, wrong)


def _class_emptied_into_another():
    # Class 1: 30 of 50 rows flagged, all predicted as class 0, which would hold more of
    # class 1's rows than class 1 keeps.
    class_1 = np.r_[np.full(15, 9), np.full(10, 8), np.full(5, 7), np.zeros(20)]
    counts = np.r_[np.zeros(45), np.full(5, 9), class_1].astype(int)
    codes = np.r_[np.zeros(50, int), np.ones(50, int)]
    predicted = np.r_[np.zeros(50, int), np.zeros(30, int), np.ones(20, int)]
    return counts, codes, predicted


def test_a_capped_class_masks_only_rows_above_its_median_and_keeps_its_scores():
    counts, codes, predicted = _class_emptied_into_another()
    predicted[:10] = 1  # the network predicts class 1 for 30 rows: learned
    verdict = _judged(counts, codes, predicted=predicted)
    unguarded = _judged(counts, codes)
    assert verdict.capped_classes.tolist() == [1] and verdict.withheld_classes.size == 0
    np.testing.assert_array_equal(verdict.noise_mask[codes == 1], counts[codes == 1] > 7)
    assert verdict.noise_mask[codes == 0].sum() == 5
    # The guard acts on the mask and on training, never on the evidence.
    np.testing.assert_array_equal(verdict.cleanliness, unguarded.cleanliness)
    np.testing.assert_array_equal(verdict.label_quality, unguarded.label_quality)
    assert verdict.training_table[1, 7, 0] == 1.0 and verdict.training_table[1, 8, 0] < 0.5


def test_a_withheld_class_is_neither_masked_nor_down_weighted_but_still_scored_low():
    counts, codes, predicted = _class_emptied_into_another()  # class 1 predicted for 20 of 50
    verdict = _judged(counts, codes, predicted=predicted)
    assert verdict.withheld_classes.tolist() == [1] and verdict.capped_classes.size == 0
    assert not verdict.noise_mask[codes == 1].any()
    assert np.all(verdict.training_table[1, :, 0] == 1.0)
    high = (codes == 1) & (counts >= 8)
    assert verdict.cleanliness[high].max() < 0.5 and verdict.label_quality[high].max() < 0.5


def test_the_mask_keeps_a_flagged_row_whose_label_the_network_confirms_but_not_its_score():
    counts = np.r_[np.zeros(80, int), np.full(20, 9)]
    codes = np.zeros(100, int)
    margin = np.r_[np.full(80, 0.9), np.full(10, -0.8), np.full(10, 0.3)]
    verdict = _judged(counts, codes, margin=margin)
    np.testing.assert_array_equal(verdict.noise_mask, np.arange(100) // 10 == 8)
    assert verdict.cleanliness[80:].max() < 0.5 and verdict.label_quality[80:].max() < 0.5


def test_a_rare_class_mostly_mislabelled_keeps_its_ranking():
    # Symmetric noise moves more rows into a rare class than it has of its own: the guard
    # keeps the class, and the wrong rows still rank as wrong.
    rng = np.random.default_rng(1)
    codes = np.r_[np.zeros(900, int), np.ones(100, int)]
    wrong = np.r_[np.zeros(900, bool), np.arange(100) < 70]
    counts = np.where(wrong, rng.integers(6, 10, 1000), rng.integers(0, 3, 1000))
    predicted = np.where(wrong, 0, codes)
    verdict = _judged(counts, codes, predicted=predicted, margin=rng.uniform(-1, 1, 1000))
    assert verdict.withheld_classes.tolist() == [1]
    assert roc_auc_score(wrong, 1 - verdict.cleanliness) > 0.99
    assert roc_auc_score(wrong, -verdict.label_quality) > 0.99


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(0, 20), min_size=5, max_size=200),
    st.sampled_from(["global", "per_class"]),
    st.integers(0, 2**31 - 1),
)
def test_scores_are_monotone_in_the_counts_then_the_margin_within_a_mixture(counts, kind, seed):
    rng = np.random.default_rng(seed)
    counts = np.array(counts)
    codes = rng.integers(0, 2, counts.size)
    margin = rng.uniform(-1, 1, counts.size)
    predicted = rng.integers(0, 2, counts.size)
    mixture = WrongEventMixture(kind, 2, int(counts.max())).fit(counts, codes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        verdict = judge(mixture, counts, codes, predicted=predicted, margin=margin)
    for code in (0, 1):
        rows = codes == code
        order = np.lexsort((-margin[rows], counts[rows]))  # fewer counts, then higher margin
        quality = verdict.label_quality[rows][order]
        cleanliness = verdict.cleanliness[rows][order]
        assert np.all(np.diff(quality) <= 1e-12)
        assert np.all(np.diff(cleanliness) <= 1e-12)
        assert np.all((quality > 0) & (quality < 1))


def test_label_quality_breaks_ties_where_the_posterior_rounds_to_one():
    counts = np.r_[np.zeros(500, int), np.ones(300, int), np.full(200, 30)]
    margin = np.linspace(1, -1, 1000)
    verdict = _judged(counts, np.zeros(1000, int), margin=margin)
    assert np.unique(verdict.label_quality).size == 1000
    assert np.all(verdict.label_quality[:800] > 0.5) and np.all(verdict.label_quality[800:] < 0.5)


def test_strength_acts_on_the_most_suspicious_share_of_flagged_rows_and_nothing_else():
    counts = np.r_[np.zeros(60, int), np.full(10, 7), np.full(10, 8), np.full(20, 9)]
    codes = np.zeros(100, int)
    full, none, half = (_judged(counts, codes, strength=s) for s in (1.0, 0.0, 0.5))
    assert np.all(none.training_table[:, :, 0] == 1) and np.all(none.training_table[:, :, 1] == 0)
    flagged = full.training_table[0, :, 0] < 0.5
    assert flagged[7:].all()
    # Half of the 40 flagged rows: the 20 with 9 wrong events; the rows below weigh as clean.
    assert half.training_table[0, 9, 0] == full.training_table[0, 9, 0] < 0.5
    assert np.all(half.training_table[0, :9, 0] == 1)
    for verdict in (none, half):
        np.testing.assert_array_equal(verdict.cleanliness, full.cleanliness)
        np.testing.assert_array_equal(verdict.noise_mask, full.noise_mask)


def test_strength_compares_how_the_flagged_labels_are_out_voted_with_how_the_others_are_confirmed():
    confirmed = [0.5, 0.3]  # mean 0.4
    assert evidence_strength([-0.4, -0.4], confirmed) == pytest.approx(1.0)  # like wrong labels
    assert evidence_strength([-0.2, -0.2], confirmed) == pytest.approx(0.5)
    assert evidence_strength([0.2, -0.2], confirmed) == 0.0  # coin flips: hard rows
    assert evidence_strength([-0.9], confirmed) == 1.0
    assert evidence_strength([], confirmed) == evidence_strength([-0.5], [-0.1]) == 0.0
    # No scale: the same network, twice as sure of everything, gets the same strength.
    assert evidence_strength([-0.4, -0.2], [0.8, 0.4]) == pytest.approx(
        evidence_strength([-0.2, -0.1], [0.4, 0.2])
    )


def test_margin_auroc_tracks_how_the_counts_order_out_voted_rows_before_unsure_ones():
    rng = np.random.default_rng(0)
    right = rng.random(1000) < 0.8
    # Separable: the wrong labels are out-voted and have the most wrong events.
    counts = np.where(right, rng.integers(0, 3, 1000), rng.integers(6, 10, 1000))
    margin = np.where(right, rng.uniform(0.5, 1, 1000), rng.uniform(-1, -0.5, 1000))
    separable = margin_auroc(counts, margin)
    # Overlapping: the rows with many wrong events are coin flips.
    unsure = np.where(counts > 4, rng.uniform(-0.2, 0.2, 1000), margin)
    assert separable > 0.75 and margin_auroc(counts, unsure) < separable - 0.1
    assert margin_auroc(rng.permutation(counts), margin) == pytest.approx(0.5, abs=0.05)
    assert margin_auroc([1, 2], [1, 1]) is None  # no row leans towards a wrong label


def test_beats_chance_needs_agreement_beyond_what_the_shares_give():
    assert beats_chance([50, 50], [50, 50], 70)
    assert not beats_chance([50, 50], [50, 50], 55)  # within two standard deviations
    assert not beats_chance([100, 0], [90, 10], 90)  # a constant predictor


def test_a_network_that_stopped_predicting_a_class_is_never_kept_over_one_that_predicts_it():
    codes = np.r_[np.zeros(990, int), np.ones(10, int)]
    right = codes.copy()
    right[:5] = 1
    constant = np.zeros(1000, int)  # right more often overall, but gave up class 1
    better, (agree_right, agree_constant) = better_network(right, constant, codes, np.ones(1000), 2)
    assert better and agree_right > agree_constant
    assert not better_network(constant, right, codes, np.ones(1000), 2)[0]


def test_the_first_network_is_better_only_by_more_than_chance_explains():
    codes = np.repeat([0, 1], 500)
    first, second = codes.copy(), codes.copy()
    first[:3] = 1
    assert not better_network(first, second, codes, np.ones(1000), 2)[0]
    assert not better_network(second, first, codes, np.ones(1000), 2)[0]
    second[:100] = 1
    assert better_network(first, second, codes, np.ones(1000), 2)[0]


def test_warnings_point_at_the_first_caller_outside_the_package():
    with pytest.warns(WrongEventWarning, match="a message") as record:
        warn("a message")
    assert record[0].filename == __file__
