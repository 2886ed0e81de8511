import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from skwrongevent import BetaMixture, WrongEventMixture, WrongEventWarning

EPS = 1e-6


def test_one_em_iteration_matches_hand_computation():
    counts = np.array([0.0, 5.0, 10.0])
    mixture = BetaMixture(max_iter=1).fit(counts)

    # Scaled counts: min -> eps, midpoint -> 0.5, max -> 1 - eps.
    x = np.array([EPS, 0.5, 1 - EPS])
    # Initial components: Beta(1, 2) has pdf 2(1 - x), Beta(2, 1) has pdf 2x; weights 1/2.
    likelihood = np.maximum(np.column_stack([(1 - x), x]), EPS)
    r = likelihood / (likelihood.sum(axis=1, keepdims=True) + EPS)
    alphas, betas = [], []
    for k in (0, 1):
        m = (r[:, k] * x).sum() / (r[:, k].sum() + EPS)
        s2 = (r[:, k] * (x - m) ** 2).sum() / (r[:, k].sum() + EPS)
        alpha = m * (m * (1 - m) / s2 - 1)
        alphas.append(alpha)
        betas.append(alpha * (1 - m) / m)
    np.testing.assert_allclose(mixture.alphas_, alphas, rtol=1e-9)
    np.testing.assert_allclose(mixture.betas_, betas, rtol=1e-9)
    np.testing.assert_allclose(mixture.weights_, r.sum(axis=0) / r.sum(), rtol=1e-9)
    # By symmetry of the data and the start, the components mirror each other.
    np.testing.assert_allclose(mixture.alphas_, mixture.betas_[::-1], rtol=1e-4)


@pytest.mark.parametrize(
    "counts, component", [([0, 0, 7, 8, 9, 10, 10, 10, 10], 0), ([10, 10, 3, 2, 1, 0, 0, 0, 0], 1)]
)
def test_clamps_keep_components_on_their_side(counts, component):
    counts = np.array(counts, dtype=float)
    x = np.clip(counts / 10 * (1 - 2 * EPS) + EPS, EPS, 1 - EPS)
    likelihood = np.maximum(np.column_stack([(1 - x), x]), EPS)
    r = (likelihood / (likelihood.sum(axis=1, keepdims=True) + EPS))[:, component]
    m = (r * x).sum() / (r.sum() + EPS)
    alpha = m * (m * (1 - m) / ((r * (x - m) ** 2).sum() / (r.sum() + EPS)) - 1)
    unclamped = alpha * (1 - m) / m if component == 0 else alpha
    assert unclamped < 1.02

    mixture = BetaMixture(max_iter=1).fit(counts)
    clamped = mixture.betas_[0] if component == 0 else mixture.alphas_[1]
    assert clamped == 1.1


def test_separates_two_groups_and_orders_components():
    rng = np.random.default_rng(0)
    counts = np.r_[rng.binomial(20, 0.05, 300), rng.binomial(20, 0.8, 200)]
    mixture = BetaMixture().fit(counts)
    clean = mixture.predict_proba(counts)[:, 0]
    assert clean[:300].mean() > 0.9 and clean[300:].mean() < 0.1
    assert mixture.weights_[1] == pytest.approx(0.4, abs=0.05)


def test_queries_match_scipy_and_clip_out_of_range():
    counts = np.r_[np.zeros(50), np.arange(10), np.full(30, 10)]
    mixture = BetaMixture().fit(counts)
    x = np.clip(np.array([0, 4, 10]) / 10 * (1 - 2 * EPS) + EPS, EPS, 1 - EPS)
    pdf = mixture.weights_ * stats.beta.pdf(x[:, None], mixture.alphas_, mixture.betas_)
    np.testing.assert_allclose(
        mixture.predict_proba([0, 4, 10]), pdf / pdf.sum(axis=1, keepdims=True)
    )
    np.testing.assert_allclose(
        mixture.cdf([0, 4, 10]), stats.beta.cdf(x[:, None], mixture.alphas_, mixture.betas_)
    )
    np.testing.assert_allclose(mixture.predict_proba([25]), mixture.predict_proba([10]))
    np.testing.assert_allclose(mixture.predict_proba([-3]), mixture.predict_proba([0]))


def test_warm_start_continues_em():
    counts = np.r_[np.zeros(40), np.arange(12), np.full(25, 12)]
    once = BetaMixture(max_iter=6).fit(counts)
    twice = BetaMixture(max_iter=3, warm_start=True).fit(counts).fit(counts)
    np.testing.assert_allclose(twice.alphas_, once.alphas_)
    np.testing.assert_allclose(twice.betas_, once.betas_)
    assert twice.n_iter_ == 6
    cold = BetaMixture(max_iter=3).fit(counts).fit(counts)
    assert not np.allclose(cold.alphas_, once.alphas_)


@pytest.mark.parametrize("counts", [np.zeros(20), np.full(5, 7.0), np.array([3.0])])
def test_degenerate_counts_are_all_clean_with_a_warning(counts):
    with pytest.warns(WrongEventWarning, match="no evidence of label noise"):
        mixture = BetaMixture().fit(counts)
    proba = mixture.predict_proba(np.r_[counts, 0, 100])
    assert np.all(proba[:, 0] == 1) and np.all(proba[:, 1] == 0)
    assert np.all(mixture.cdf(counts) == 0)
    assert mixture.degenerate_


@pytest.mark.parametrize(
    "counts, message",
    [([], "non-empty"), ([[1, 2]], "1-D"), ([1, np.nan], "NaN"), ([1, np.inf], "infinity")],
)
def test_bad_counts(counts, message):
    with pytest.raises(ValueError, match=message):
        BetaMixture().fit(counts)


def test_unfitted_query_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        BetaMixture().predict_proba([1, 2])


# ---------------------------------------------------------------------------
# Guarantees for any histogram
# ---------------------------------------------------------------------------

histograms = st.lists(st.integers(0, 60), min_size=2, max_size=300).filter(
    lambda counts: len(set(counts)) > 1
)


@settings(max_examples=200, deadline=None)
@given(histograms)
def test_posteriors_are_valid_monotone_and_ordered_for_any_histogram(counts):
    mixture = BetaMixture().fit(counts)
    grid = np.arange(max(counts) + 1)
    proba = mixture.predict_proba(grid)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(np.diff(proba[:, 0]) <= 1e-12)  # never cleaner with more wrong events
    assert mixture.alphas_[0] <= mixture.alphas_[1] and mixture.betas_[0] >= mixture.betas_[1]


@settings(max_examples=100, deadline=None)
@given(histograms, histograms, st.sampled_from(["global", "per_class"]))
def test_a_refit_never_flags_more_than_twice_a_fresh_fit(first, second, kind):
    size = max(max(first), max(second))
    codes = np.arange(len(second)) % 2
    refit = WrongEventMixture(kind, n_classes=2, max_count=size)
    refit.fit(np.array(first), np.arange(len(first)) % 2).fit(np.array(second), codes)
    fresh = WrongEventMixture(kind, n_classes=2, max_count=size).fit(np.array(second), codes)
    flagged = np.mean(refit.table_[codes, second, 0] < 0.5)
    fresh_flagged = np.mean(fresh.table_[codes, second, 0] < 0.5)
    assert flagged <= 2 * fresh_flagged + 2 / len(second)  # one row per class mixture


def test_row_never_wrong_is_never_judged_noisier_than_a_row_often_wrong():
    proba = BetaMixture().fit([0, 1, 1, 1, 3]).predict_proba([0, 1, 3])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba[0, 0] >= proba[1, 0] >= proba[2, 0]
    assert proba[0, 0] > 0.5


def test_clean_rows_forming_a_hump_away_from_zero_keep_the_lowest_counts_clean():
    rng = np.random.default_rng(0)
    failures = 0
    for _ in range(200):
        hump = rng.binomial(30, rng.uniform(0.1, 0.4), size=400)
        noisy = rng.binomial(30, rng.uniform(0.7, 0.95), size=rng.integers(0, 200))
        counts = np.r_[hump, noisy]
        clean = BetaMixture().fit(counts).predict_proba([counts.min()])[0, 0]
        failures += clean < 0.5
    assert failures == 0


@settings(max_examples=50, deadline=None)
@given(histograms)
def test_log_odds_agree_with_the_posteriors_and_never_rise_with_the_count(counts):
    mixture = BetaMixture().fit(counts)
    grid = np.linspace(min(counts), max(counts), 50)
    log_odds = mixture.log_odds(grid)
    assert np.all(np.diff(log_odds) <= 1e-9)
    proba = mixture.predict_proba(grid)[:, 0]
    finite = np.abs(log_odds) < 30
    np.testing.assert_allclose(proba[finite], 1 / (1 + np.exp(-log_odds[finite])), rtol=1e-9)
