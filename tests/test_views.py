import numpy as np
import pytest
import torch
import torch.nn.functional as F

from skwrongevent import ImageViews, TabularViews
from skwrongevent._views import OPERATIONS, apply_chosen, cutout, random_crop

DETERMINISTIC = {"autocontrast", "equalize"}


@pytest.fixture
def images():
    """Eight 3 x 12 x 10 images with values in [0, 1] and varied contrast."""
    generator = torch.Generator().manual_seed(0)
    base = torch.rand(8, 3, 12, 10, generator=generator)
    return 0.2 + 0.6 * base * torch.linspace(0.3, 1, 8)[:, None, None, None]


def seeded(function, batch, seed):
    torch.manual_seed(seed)
    return function(batch)


# ---------------------------------------------------------------------------
# Operations of the strong image view
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_operation_keeps_shape_dtype_and_unit_range(name, images):
    before = images.clone()
    out = seeded(OPERATIONS[name], images, 0)
    assert out.shape == images.shape and out.dtype == images.dtype
    assert out.min() >= 0 and out.max() <= 1
    assert not torch.equal(out, images)  # every operation changes these images
    assert torch.equal(images, before)  # and leaves its input alone


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_operation_randomness_follows_the_seed(name, images):
    first, again = seeded(OPERATIONS[name], images, 1), seeded(OPERATIONS[name], images, 1)
    assert torch.equal(first, again)
    other = seeded(OPERATIONS[name], images, 2)
    assert torch.equal(first, other) == (name in DETERMINISTIC)


def test_operations_draw_one_magnitude_per_image(images):
    # The same image twice in a batch gets two different brightness factors.
    pair = images[:1].expand(2, -1, -1, -1)
    out = seeded(OPERATIONS["brightness"], pair, 0)
    assert not torch.equal(out[0], out[1])


def test_operations_on_chosen_subsets_match_operations_on_the_whole_batch(images):
    # The CPU path computes each operation on the images that chose it, the GPU path on all
    # of them; both draw the same magnitudes, so they give the same images.
    chosen = torch.arange(-1, len(OPERATIONS)).repeat(2)[: 3 * len(images)]
    batch = images.repeat(3, 1, 1, 1)[: len(chosen)]
    subsets = seeded(lambda b: apply_chosen(b, chosen, subsets=True), batch, 0)
    whole = seeded(lambda b: apply_chosen(b, chosen, subsets=False), batch, 0)
    assert torch.equal(subsets, whole)
    assert torch.equal(subsets[chosen == -1], batch[chosen == -1])
    assert not torch.equal(subsets[chosen == 0], batch[chosen == 0])


def test_autocontrast_and_equalize_stretch_each_channel_to_the_unit_range(images):
    for name in DETERMINISTIC:
        out = OPERATIONS[name](images)
        assert torch.allclose(out.amin(dim=(2, 3)), torch.zeros(8, 3), atol=1e-6)
        assert torch.allclose(out.amax(dim=(2, 3)), torch.ones(8, 3), atol=1e-6)


def test_random_crop_returns_windows_of_the_reflect_padded_image(images):
    pad = 2
    out = seeded(lambda batch: random_crop(batch, pad), images, 0)
    padded = F.pad(images, (pad,) * 4, mode="reflect")
    offsets = []
    for image, view in zip(padded, out, strict=True):
        windows = [
            (top, left)
            for top in range(2 * pad + 1)
            for left in range(2 * pad + 1)
            if torch.equal(image[:, top : top + 12, left : left + 10], view)
        ]
        assert windows
        offsets.append(windows[0])
    assert len(set(offsets)) > 1  # offsets differ between images
    assert random_crop(images, 0) is images


def test_cutout_paints_one_grey_square_per_image(images):
    out = seeded(lambda batch: cutout(batch, 3), images, 0)
    painted = (out != images).all(dim=1)  # a pixel changed in every channel
    assert torch.all(out.permute(0, 2, 3, 1)[painted] == 0.5)
    counts = painted.flatten(1).sum(dim=1)
    assert torch.all((counts >= 1) & (counts <= 9))
    rows, columns = painted.any(dim=2), painted.any(dim=1)
    assert torch.all(rows.sum(dim=1) <= 3) and torch.all(columns.sum(dim=1) <= 3)


# ---------------------------------------------------------------------------
# ImageViews
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("view", ["weak", "strong"])
def test_image_views_stay_inside_each_images_range(view, images):
    standardised = (images - 0.5) * 4  # negative values, range beyond [0, 1]
    before = standardised.clone()
    out = seeded(getattr(ImageViews(), view), standardised, 0)
    assert out.shape == standardised.shape and out.dtype == torch.float32
    low, high = standardised.amin(dim=(1, 2, 3)), standardised.amax(dim=(1, 2, 3))
    assert torch.all(out.amin(dim=(1, 2, 3)) >= low - 1e-5)
    assert torch.all(out.amax(dim=(1, 2, 3)) <= high + 1e-5)
    assert torch.equal(standardised, before)


@pytest.mark.parametrize("view", ["weak", "strong"])
def test_image_views_follow_the_seed(view, images):
    views = ImageViews()
    first = seeded(getattr(views, view), images, 3)
    assert torch.equal(first, seeded(getattr(views, view), images, 3))
    assert not torch.equal(first, seeded(getattr(views, view), images, 4))


def test_flip_is_switchable(images):
    mirrored = seeded(ImageViews(flip=True, pad_fraction=0).weak, images, 0)
    pairs = list(zip(mirrored, images, strict=True))
    flipped = torch.tensor([torch.equal(view, image.flip(-1)) for view, image in pairs])
    kept = torch.tensor([torch.equal(view, image) for view, image in pairs])
    assert torch.all(flipped | kept) and flipped.any() and kept.any()
    assert torch.equal(ImageViews(flip=False, pad_fraction=0).weak(images), images)


def test_strong_view_without_operations_or_cutout_is_the_weak_view(images):
    views = ImageViews(n_operations=0, cutout=0)
    weak, strong = seeded(views.weak, images, 5), seeded(views.strong, images, 5)
    assert torch.allclose(weak, strong, atol=1e-6)


@pytest.mark.parametrize(
    "batch, message",
    [
        (torch.rand(4, 12, 10), "shape"),
        (torch.zeros(4, 1, 8, 8, dtype=torch.uint8), "floating-point"),
    ],
)
def test_image_views_reject_bad_batches(batch, message):
    with pytest.raises(ValueError, match=message):
        ImageViews().weak(batch)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"pad_fraction": 0.5}, "pad_fraction"),
        ({"n_operations": -1}, "n_operations"),
        ({"cutout": 2}, "cutout"),
    ],
)
def test_image_views_check_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        ImageViews(**params).fit()


@pytest.mark.cuda
def test_image_views_run_on_the_gpu(images):
    out = ImageViews().strong(images.cuda())
    assert out.device.type == "cuda" and out.shape == images.shape


# ---------------------------------------------------------------------------
# TabularViews
# ---------------------------------------------------------------------------


def test_tabular_views_scale_noise_by_feature_spread():
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(4000, 2)) * [1.0, 10.0]).astype(np.float32)
    views = TabularViews(weak_noise=0.1, corruption=0.0).fit(X)
    batch = torch.from_numpy(X)
    torch.manual_seed(0)
    spread = (views.weak(batch) - batch).std(dim=0)
    assert torch.allclose(spread, torch.tensor([0.1, 1.0]), rtol=0.1)


def test_tabular_strong_view_swaps_in_values_from_other_rows():
    X = np.arange(200, dtype=np.float32).reshape(50, 4)
    views = TabularViews(strong_noise=0.0, corruption=0.5).fit(X)
    torch.manual_seed(0)
    batch = torch.from_numpy(X)
    out = views.strong(batch)
    swapped = out != batch
    assert 0.3 < swapped.float().mean() < 0.55  # about half, less where a row drew itself
    for column in range(4):  # swapped values come from the same column
        assert set(out[:, column].tolist()) <= set(X[:, column].tolist())
