import numpy as np
import pytest

from skwrongevent import inject_label_noise


@pytest.mark.parametrize("rate", [0.0, 0.2, 0.6])
def test_symmetric_flips_exact_fraction_to_other_classes(rate):
    y = np.repeat(np.arange(5), 40)
    y_noisy, mask = inject_label_noise(y, rate, random_state=0)
    assert mask.sum() == round(rate * y.size)
    np.testing.assert_array_equal(mask, y_noisy != y)
    # Every wrong class is used: the flips are spread, not to one class.
    if rate:
        assert np.unique(y_noisy[mask]).size == 5


def test_pair_noise_moves_to_next_class():
    y = np.array(["a", "b", "c"] * 30)
    y_noisy, mask = inject_label_noise(y, 0.4, kind="pair", random_state=1)
    nxt = {"a": "b", "b": "c", "c": "a"}
    assert all(y_noisy[i] == nxt[y[i]] for i in np.flatnonzero(mask))
    assert mask.sum() == 36


def test_pair_noise_follows_given_pairs():
    y = np.repeat(["cat", "dog", "fox", "owl"], 25)
    y_noisy, mask = inject_label_noise(
        y, 0.2, kind="pair", pairs={"cat": "dog", "dog": "cat"}, random_state=0
    )
    assert mask.sum() == 20
    assert set(zip(y[mask], y_noisy[mask], strict=True)) <= {("cat", "dog"), ("dog", "cat")}
    assert np.array_equal(y_noisy[np.isin(y, ["fox", "owl"])], y[np.isin(y, ["fox", "owl"])])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(kind="pair", pairs={"cat": "emu"}), "not a class"),
        (dict(kind="pair", pairs={"cat": "cat"}), "to itself"),
        (dict(kind="pair", pairs={"cat": "dog"}, noise_rate=0.6), "hold only"),
        (dict(kind="symmetric", pairs={"cat": "dog"}), "only used with"),
    ],
)
def test_pair_noise_rejects_bad_pairs(kwargs, message):
    y = np.repeat(["cat", "dog"], 10)
    kwargs.setdefault("noise_rate", 0.2)
    with pytest.raises(ValueError, match=message):
        inject_label_noise(y, **kwargs)


def test_instance_noise_depends_on_features_and_is_near_rate():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 8))
    y = rng.integers(0, 4, 3000)
    y_noisy, mask = inject_label_noise(y, 0.4, kind="instance", X=X, random_state=0)
    assert 0.35 < mask.mean() < 0.45
    # Identical rows of one class get the same flip distribution: the wrong labels are
    # concentrated rather than uniform over the other classes.
    counts = np.bincount(y_noisy[mask & (y == 0)], minlength=4)[1:]
    assert counts.max() > counts.sum() / 3


def test_seeded_and_input_untouched():
    y = np.repeat([1, 2, 3], 10)
    y_copy = y.copy()
    first = inject_label_noise(y, 0.3, random_state=42)
    second = inject_label_noise(y, 0.3, random_state=42)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(y, y_copy)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"noise_rate": 1.0}, "noise_rate"),
        ({"noise_rate": 0.2, "kind": "bogus"}, "kind"),
        ({"noise_rate": 0.2, "kind": "instance"}, "needs the features"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        inject_label_noise(np.array([0, 1] * 5), **kwargs)


def test_single_class_and_continuous_labels_rejected():
    with pytest.raises(ValueError, match="single class"):
        inject_label_noise(np.zeros(10), 0.2)
    with pytest.raises(ValueError, match="continuous"):
        inject_label_noise(np.linspace(0, 1, 10), 0.2)
