import numpy as np
import pandas as pd
import pytest
from imblearn.pipeline import make_pipeline as make_imblearn_pipeline
from imblearn.utils.estimator_checks import estimator_checks_generator
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline

from skwrongevent import WrongEventClassifier, WrongEventCleaner, find_label_issues

FAST = WrongEventClassifier(
    max_epochs=10, warmup_fraction=0.5, lr=1e-2, batch_size=16, mixture="global"
)


# imbalanced-learn's parametrize_with_checks passes pytest a generator, which pytest 9 refuses.
SAMPLER_CHECKS = list(
    estimator_checks_generator(WrongEventCleaner(FAST, random_state=0), mark="xfail")
)


def _check_name(check):
    while hasattr(check, "func"):
        check = check.func
    return check.__name__


@pytest.mark.parametrize(
    "estimator, check",
    SAMPLER_CHECKS,
    ids=lambda value: _check_name(value) if callable(value) else "cleaner",
)
@pytest.mark.filterwarnings("ignore::skwrongevent.WrongEventWarning")  # random rows: no verdict
def test_imblearn_sampler_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def cleaned_digits(noisy_digits):
    X_train, y_noisy, noise_mask, *_ = noisy_digits
    cleaner = WrongEventCleaner(random_state=0)
    X_kept, y_kept = cleaner.fit_resample(X_train, y_noisy)
    return cleaner, X_kept, y_kept


def test_fit_resample_drops_the_wrong_labels(cleaned_digits, noisy_digits):
    X_train, y_noisy, noise_mask, *_ = noisy_digits
    cleaner, X_kept, y_kept = cleaned_digits
    dropped = cleaner.noise_mask_
    assert noise_mask[dropped].mean() > 0.9 and dropped[noise_mask].mean() > 0.9
    np.testing.assert_array_equal(cleaner.sample_indices_, np.flatnonzero(~dropped))
    np.testing.assert_array_equal(X_kept, X_train[cleaner.sample_indices_])
    np.testing.assert_array_equal(y_kept, y_noisy[cleaner.sample_indices_])
    assert sum(cleaner.sampling_strategy_.values()) == len(y_kept)
    for name in ("sample_cleanliness_", "sample_difficulty_", "wrong_events_"):
        np.testing.assert_array_equal(getattr(cleaner, name), getattr(cleaner.classifier_, name))


def test_threshold_and_drop_fraction(blobs):
    X, y = blobs
    y = y.copy()
    y[:6] = (y[:6] + 1) % 3
    strict = WrongEventCleaner(FAST, threshold=1.0, random_state=0).fit(X, y)
    np.testing.assert_array_equal(strict.noise_mask_, strict.sample_cleanliness_ < 1.0)
    fraction = WrongEventCleaner(FAST, drop_fraction=0.25, random_state=0).fit(X, y)
    assert fraction.noise_mask_.sum() == 15
    worst_kept = fraction.sample_cleanliness_[~fraction.noise_mask_].min()
    assert fraction.sample_cleanliness_[fraction.noise_mask_].max() <= worst_kept
    none = WrongEventCleaner(FAST, drop_fraction=0.0, random_state=0).fit(X, y)
    assert not none.noise_mask_.any()


def test_classifier_is_cloned_not_fitted():
    from sklearn.exceptions import NotFittedError

    X = np.random.default_rng(0).normal(size=(40, 3))
    y = np.repeat([0, 1], 20)
    WrongEventCleaner(FAST, random_state=0).fit(X, y)
    with pytest.raises(NotFittedError):
        FAST.predict(X)


def test_imblearn_pipeline_grid_search_and_cross_val_score(blobs):
    # Integration only: detection quality is asserted on noisy digits above.
    X, y = blobs
    pipeline = make_imblearn_pipeline(WrongEventCleaner(FAST, random_state=0), LogisticRegression())
    scores = cross_val_score(pipeline, X, y, cv=3)
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))
    grid = GridSearchCV(
        pipeline,
        {
            "wrongeventcleaner__drop_fraction": [0.05, 0.1],
            "wrongeventcleaner__classifier__max_epochs": [8, 10],
        },
        cv=2,
    ).fit(X, y)
    cleaner = grid.best_estimator_[0]
    assert (
        cleaner.classifier_.max_epochs
        == grid.best_params_["wrongeventcleaner__classifier__max_epochs"]
    )
    assert grid.best_estimator_[-1].n_features_in_ == 4


def test_plain_sklearn_pipeline_is_refused(blobs):
    pipeline = make_pipeline(WrongEventCleaner(FAST), LogisticRegression())
    with pytest.raises(TypeError, match="WrongEventCleaner"):
        pipeline.fit(*blobs)


@pytest.mark.parametrize(
    "params, error, message",
    [
        ({"threshold": 0}, ValueError, "threshold"),
        ({"drop_fraction": 1.0}, ValueError, "drop_fraction"),
        ({"classifier": LogisticRegression()}, TypeError, "WrongEventClassifier"),
    ],
)
def test_bad_parameters(blobs, params, error, message):
    with pytest.raises(error, match=message):
        WrongEventCleaner(**params).fit(*blobs)


@pytest.mark.parametrize("estimator_index", [0, 1])
def test_label_issue_report_columns_dtypes_and_order(cleaned_digits, noisy_digits, estimator_index):
    X_train, y_noisy, noise_mask, *_ = noisy_digits
    cleaner = cleaned_digits[0]
    estimator = [cleaner, cleaner.classifier_][estimator_index]
    report = estimator.get_label_issues()
    assert list(report.columns) == [
        "is_label_issue",
        "label_quality",
        "margin",
        "given_label",
        "suggested_label",
        "predicted_label",
        "wrong_events",
        "difficulty",
    ]
    assert report["is_label_issue"].dtype == bool
    assert report["label_quality"].dtype == np.float64
    assert report["wrong_events"].dtype.kind == "i"
    pd.testing.assert_index_equal(report.index, pd.RangeIndex(len(y_noisy)))
    np.testing.assert_array_equal(report["given_label"], y_noisy)
    np.testing.assert_array_equal(report["is_label_issue"], estimator.noise_mask_)
    suggested = np.where(estimator.noise_mask_, report["predicted_label"], report["given_label"])
    np.testing.assert_array_equal(report["suggested_label"], suggested)
    # Predicted labels disagree with the given one far more often on wrong labels.
    disagree = report["predicted_label"] != report["given_label"]
    assert disagree[noise_mask].mean() > 0.8 > disagree[~noise_mask].mean()


def test_report_keeps_the_index_of_a_dataframe_and_estimates_the_noise(noisy_digits):
    X_train, y_noisy, noise_mask, *_ = noisy_digits
    X = pd.DataFrame(X_train, index=np.arange(len(X_train)) * 10 + 7)
    clf = WrongEventClassifier(max_epochs=20, random_state=0).fit(X, y_noisy)
    report = clf.get_label_issues()
    pd.testing.assert_index_equal(report.index, X.index)
    cleaner = WrongEventCleaner(random_state=0).fit(X, y_noisy)
    pd.testing.assert_index_equal(cleaner.get_label_issues().index, X.index)
    matrix = clf.get_noise_matrix()
    np.testing.assert_allclose(matrix.sum(axis=1), 1)
    counts = clf.get_noise_matrix(normalize=False)
    assert counts.to_numpy().sum() == len(y_noisy)
    off_diagonal = counts.to_numpy().sum() - np.trace(counts.to_numpy())
    assert off_diagonal <= clf.noise_mask_.sum()
    assert abs(clf.noise_mask_.mean() - noise_mask.mean()) < 0.1


def test_report_keeps_string_labels(blobs):
    X, y = blobs
    names = np.array(["a", "b", "c"])[y]
    report = WrongEventClassifier(**FAST.get_params()).fit(X, names).get_label_issues()
    assert set(report["given_label"]) == {"a", "b", "c"}
    assert set(report["predicted_label"]) <= {"a", "b", "c"}


def test_find_label_issues_is_ranked(noisy_digits):
    X_train, y_noisy, noise_mask, *_ = noisy_digits
    issues = find_label_issues(X_train, y_noisy, random_state=0)
    cleaner = WrongEventCleaner(random_state=0).fit(X_train, y_noisy)
    assert set(issues) == set(np.flatnonzero(cleaner.noise_mask_))
    assert np.all(np.diff(cleaner.label_quality_[issues]) >= 0)
    assert noise_mask[issues[:100]].mean() > 0.95
    # The margin ranks wrong labels before right ones far better than chance.
    assert roc_auc_score(noise_mask, -cleaner.sample_margin_) > 0.95


@pytest.mark.parametrize("estimator", [WrongEventClassifier(), WrongEventCleaner()])
def test_label_issues_of_an_unfitted_estimator_raise_not_fitted(estimator):
    with pytest.raises(NotFittedError):
        estimator.get_label_issues()


def test_a_fit_that_raises_leaves_the_cleaner_as_it_was(blobs):
    X, y = blobs
    cleaner = WrongEventCleaner(FAST, random_state=0).fit(X, y)
    before = dict(vars(cleaner))
    with pytest.raises(ValueError, match="NaN"):
        cleaner.fit(np.c_[X, np.full(len(X), np.nan)], y)  # a new shape, then a failed fit
    assert vars(cleaner).keys() == before.keys()
    assert all(vars(cleaner)[name] is value for name, value in before.items())
    assert cleaner.n_features_in_ == X.shape[1]
