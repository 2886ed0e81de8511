import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skwrongevent import WrongEventClassifier, WrongEventCleaner, WrongEventDisplay  # noqa: E402


@pytest.fixture(scope="module")
def fitted(noisy_digits):
    X_train, y_noisy, noise_mask, *_ = noisy_digits
    return WrongEventClassifier(max_epochs=16, random_state=0).fit(X_train, y_noisy), noise_mask


def test_from_estimator_draws_both_panels(fitted):
    clf, noise_mask = fitted
    display = WrongEventDisplay.from_estimator(clf, true_noise_mask=noise_mask)
    histogram, curve = display.ax_
    assert display.figure_ is histogram.figure
    labels = [text.get_text() for text in histogram.get_legend().get_texts()]
    assert any(label.startswith("wrong, flagged") for label in labels)
    assert "clean component" in labels and "noisy component" in labels
    assert any(label.startswith("global decision point") for label in labels)
    assert f"estimated AUROC of the counts {clf.detection_auroc_:.2f}" in histogram.get_title()
    assert f"evidence strength {clf.evidence_strength_:.2f}" in histogram.get_title()
    # Bars sum to the number of rows across the stacked groups.
    heights = sum(patch.get_height() for patch in histogram.patches)
    assert heights == pytest.approx(len(noise_mask))
    x, y = curve.lines[0].get_data()
    np.testing.assert_array_equal(y, clf.prediction_changes_)
    assert curve.lines[1].get_xdata()[0] == clf.base_epoch_
    plt.close("all")


def test_verdict_only_and_ax_reuse(fitted):
    clf, _ = fitted
    figure, axes = plt.subplots(1, 2)
    display = WrongEventDisplay.from_estimator(clf, ax=axes)
    assert display.figure_ is figure and display.ax_[0] is axes[0]
    labels = [text.get_text() for text in display.ax_[0].get_legend().get_texts()]
    assert labels[0] == f"judged clean ({(~clf.noise_mask_).sum()})"
    plt.close("all")


def test_cleaner_and_bad_arguments(fitted, blobs):
    clf, noise_mask = fitted
    with pytest.raises(ValueError, match="true_noise_mask has shape"):
        WrongEventDisplay.from_estimator(clf, true_noise_mask=noise_mask[:-1])
    with pytest.raises(ValueError, match="two Axes"):
        WrongEventDisplay.from_estimator(clf, ax=plt.subplots(1, 3)[1])
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        WrongEventDisplay.from_estimator(WrongEventCleaner())
    cleaner = WrongEventCleaner(random_state=0).fit(*blobs)
    display = WrongEventDisplay.from_estimator(cleaner)
    assert display.figure_.get_suptitle() == "WrongEventCleaner"
    shown = "estimated AUROC" in display.ax_[0].get_title()
    assert shown == (not np.isnan(cleaner.classifier_.detection_auroc_))
    plt.close("all")


def test_noise_matrix_panel_shows_the_estimated_shares(fitted):
    clf, _ = fitted
    display = WrongEventDisplay.from_estimator(clf)
    ax = display.plot_noise_matrix()
    image = ax.get_images()[0].get_array()
    np.testing.assert_allclose(image, clf.get_noise_matrix().to_numpy())
    assert ax.get_xlabel() == "suggested label" and ax.get_ylabel() == "given label"
    bare = WrongEventDisplay(clf.wrong_events_, clf.noise_mask_, clf.mixture_, [], 1)
    with pytest.raises(ValueError, match="no noise_matrix"):
        bare.plot_noise_matrix()
    assert bare.plot().ax_[0].get_title() == ""  # no evidence given, none shown
    plt.close("all")
