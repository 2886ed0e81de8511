"""Weak and strong views (augmentations) of a batch, on the batch's device."""

import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, clone

# Below this side, a one-pixel crop offset or a rotation resamples most of an image.
MIN_VIEW_SIDE = 16
# Views guard against memorising wrong labels; where the warm-up flags fewer rows than this
# share, they only add risk.
MIN_FLAGGED_FOR_VIEWS = 0.05


def make_views(views, input_shape, token_ids, flagged_share, sample):
    """The views a robust stage uses: None, the user's pair, or a fitted estimator.

    Parameters
    ----------
    views : "auto", None, estimator or (callable, callable)
        As :class:`WrongEventClassifier` takes it.
    input_shape : tuple or None
        One row's shape; None for dict input.
    token_ids : bool
        Whether the rows are integer token ids, which no view keeps the meaning of.
    flagged_share : float
        Share of the rows the warm-up judges mislabelled.
    sample : callable
        Returns a bounded sample of the rows and their labels, to fit the views on.

    Returns
    -------
    views : estimator, (callable, callable) or None
    """
    if views is None or isinstance(views, tuple):
        return views
    if isinstance(views, str):
        if input_shape is None or token_ids or flagged_share < MIN_FLAGGED_FOR_VIEWS:
            return None
        if len(input_shape) == 1:
            views = TabularViews()
        elif len(input_shape) == 3 and min(input_shape[1:]) >= MIN_VIEW_SIDE:
            views = ImageViews()
        else:
            return None  # sequences, small images: the rows themselves
    views = clone(views)
    if hasattr(views, "fit"):
        views.fit(*sample())
    return views


def identity(batch):
    """The batch itself: both views where there are none."""
    return batch


def view_functions(views):
    """The (weak, strong) callables of fitted views: None, a pair, or an estimator."""
    if views is None:
        return (identity, identity)
    if isinstance(views, tuple):
        return views
    return (views.weak, views.strong)


def replayable_randomness(device):
    """Snapshot torch's random state on ``device``; the returned function restores it."""
    device = torch.device(device)
    cpu_state = torch.get_rng_state()
    cuda_state = torch.cuda.get_rng_state(device) if device.type == "cuda" else None

    def replay():
        torch.set_rng_state(cpu_state)
        if cuda_state is not None:
            torch.cuda.set_rng_state(cuda_state, device)

    return replay


class TabularViews(BaseEstimator):
    """Weak and strong views of tabular rows.

    The weak view adds small Gaussian noise scaled by each feature's spread
    within a class (the spread around each row's class mean, when
    :meth:`fit` is given labels), so that a view moves a row by a fraction
    of its own class's extent whatever the features' units.
    The strong view adds larger noise and replaces a random fraction of each
    row's features with the same features of other rows in the batch
    (SCARF-style corruption). Both run batched on the batch's device and
    draw from torch's global generator, which the classifier seeds from its
    ``random_state``.

    Parameters
    ----------
    weak_noise : float, default=0.1
        Standard deviation of the weak view's noise, in units of each
        feature's standard deviation.
    strong_noise : float, default=0.2
        Standard deviation of the strong view's noise, in the same units.
    corruption : float in [0, 1], default=0.0
        Fraction of a row's features the strong view replaces with values
        from other rows of the batch, whatever their class. Off by default:
        swapped-in features carry rows of rare classes and rows near sharp
        boundaries into other classes.

    Attributes
    ----------
    scale_ : torch.Tensor of shape (n_features,)
        Per-feature standard deviation of the rows passed to :meth:`fit`
        around their class means (1 where a feature is constant).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skwrongevent import TabularViews
    >>> X = np.random.default_rng(0).normal(size=(50, 4)).astype("float32")
    >>> views = TabularViews().fit(X)
    >>> views.strong(torch.from_numpy(X)).shape
    torch.Size([50, 4])
    """

    def __init__(self, weak_noise=0.1, strong_noise=0.2, corruption=0.0):
        self.weak_noise = weak_noise
        self.strong_noise = strong_noise
        self.corruption = corruption

    def fit(self, X, y=None):
        """Measure each feature's spread on (a sample of) the training rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,) or None, default=None
            Their labels; when given, spreads are measured around each
            class's mean.

        Returns
        -------
        self : TabularViews
            The fitted views.
        """
        for name in ("weak_noise", "strong_noise", "corruption"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or value < 0:
                raise ValueError(f"{name} must be a non-negative float, got {value!r}.")
        if self.corruption > 1:
            raise ValueError(f"corruption must be in [0, 1], got {self.corruption!r}.")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"TabularViews needs 2-D input, got shape {X.shape}.")
        if y is not None:
            _, codes = np.unique(np.asarray(y), return_inverse=True)
            means = np.stack([X[codes == c].mean(axis=0) for c in range(codes.max() + 1)])
            X = X - means[codes]
        scale = X.std(axis=0)
        self.scale_ = torch.as_tensor(np.where(scale > 0, scale, 1.0), dtype=torch.float32)
        return self

    def _noise(self, batch, size):
        if self.scale_.device != batch.device:
            self.scale_ = self.scale_.to(batch.device)
        return batch + torch.randn_like(batch) * (size * self.scale_)

    def weak(self, batch):
        """Weak view: ``batch`` plus small per-feature Gaussian noise.

        Parameters
        ----------
        batch : torch.Tensor of shape (batch_size, n_features)
            Rows to perturb; not modified.

        Returns
        -------
        view : torch.Tensor of shape (batch_size, n_features)
            The weak view.
        """
        return self._noise(batch, self.weak_noise)

    def strong(self, batch):
        """Strong view: larger noise plus features swapped in from other rows.

        Parameters
        ----------
        batch : torch.Tensor of shape (batch_size, n_features)
            Rows to perturb; not modified.

        Returns
        -------
        view : torch.Tensor of shape (batch_size, n_features)
            The strong view.
        """
        noisy = self._noise(batch, self.strong_noise)
        replace = torch.rand(batch.shape, device=batch.device) < self.corruption
        donors = torch.randint(0, batch.shape[0], batch.shape, device=batch.device)
        return torch.where(replace, batch.gather(0, donors), noisy)


class ImageViews(BaseEstimator):
    """Weak and strong views of image batches, in plain torch.

    The weak view flips each image horizontally with probability 0.5 (when
    ``flip``; off by default, since a mirrored digit or letter is another
    symbol), reflect-pads it by ``pad_fraction`` of its side and crops it
    back at a random offset. The strong view is a fresh weak view followed
    by ``n_operations`` operations drawn per image from a pool (brightness,
    contrast, sharpness, posterize, solarize, autocontrast, equalize,
    rotate, shear, translate), each applied with probability 0.5 at a
    random magnitude, and a cutout square of ``cutout`` of the side.

    Images may be in any value range (raw pixels or standardised): the
    strong view's operations work on each image rescaled to [0, 1] by its
    own minimum and maximum, and map the result back, so every view stays
    inside the range of the image it came from. Everything runs batched on
    the batch's device, drawing from torch's global generator (which the
    classifier seeds from its ``random_state``). On a GPU nothing waits for
    the host; on a CPU each operation computes only the images that drew
    it. Both give the same views.

    Parameters
    ----------
    flip : bool, default=False
        Flip images horizontally at random. Turn on for photographs, where
        a mirror image shows the same class.
    pad_fraction : float in [0, 0.5), default=0.125
        Padding, as a fraction of the image side, of the random crop.
    n_operations : int, default=2
        Operations the strong view draws per image from the pool.
    cutout : float in [0, 1], default=0.15
        Side of the strong view's grey square, as a fraction of the image
        side; 0 turns cutout off.

    Examples
    --------
    >>> import torch
    >>> from skwrongevent import ImageViews
    >>> images = torch.rand(8, 3, 32, 32)
    >>> views = ImageViews(flip=False)
    >>> views.weak(images).shape, views.strong(images).dtype
    (torch.Size([8, 3, 32, 32]), torch.float32)
    """

    def __init__(self, flip=False, pad_fraction=0.125, n_operations=2, cutout=0.15):
        self.flip = flip
        self.pad_fraction = pad_fraction
        self.n_operations = n_operations
        self.cutout = cutout

    def fit(self, X=None, y=None):
        """Check the parameters; images need no statistics.

        Parameters
        ----------
        X, y : ignored
            Present for the views protocol.

        Returns
        -------
        self : ImageViews
            The checked views.
        """
        if not 0 <= self.pad_fraction < 0.5:
            raise ValueError(f"pad_fraction must be in [0, 0.5), got {self.pad_fraction!r}.")
        if not isinstance(self.n_operations, numbers.Integral) or self.n_operations < 0:
            raise ValueError(f"n_operations must be an int >= 0, got {self.n_operations!r}.")
        if not 0 <= self.cutout <= 1:
            raise ValueError(f"cutout must be in [0, 1], got {self.cutout!r}.")
        return self

    def weak(self, batch):
        """Weak view: random flip (optional) and random padded crop.

        Parameters
        ----------
        batch : torch.Tensor of shape (batch_size, channels, height, width)
            Floating-point images; not modified.

        Returns
        -------
        view : torch.Tensor of the same shape and dtype
            The weak view.
        """
        _check_images(batch)
        if self.flip:
            flipped = torch.rand(len(batch), device=batch.device) < 0.5
            batch = torch.where(flipped[:, None, None, None], batch.flip(-1), batch)
        return random_crop(batch, round(self.pad_fraction * min(batch.shape[-2:])))

    def strong(self, batch):
        """Strong view: a weak view, random operations, then cutout.

        Parameters
        ----------
        batch : torch.Tensor of shape (batch_size, channels, height, width)
            Floating-point images; not modified.

        Returns
        -------
        view : torch.Tensor of the same shape and dtype
            The strong view.
        """
        view = self.weak(batch)
        low = view.amin(dim=(1, 2, 3), keepdim=True)
        span = (view.amax(dim=(1, 2, 3), keepdim=True) - low).clamp_min(1e-12)
        unit = (view - low) / span
        for _ in range(self.n_operations):
            chosen = torch.randint(len(OPERATIONS), (len(unit),), device=unit.device)
            chosen = torch.where(torch.rand(len(unit), device=unit.device) < 0.5, chosen, -1)
            unit = apply_chosen(unit, chosen, subsets=unit.device.type == "cpu")
        side = round(self.cutout * min(unit.shape[-2:]))
        if side:
            unit = cutout(unit, side)
        return unit * span + low


def _check_images(batch):
    if not isinstance(batch, torch.Tensor) or batch.ndim != 4:
        raise ValueError(
            "ImageViews needs a tensor of shape (batch_size, channels, height, width), got "
            f"{getattr(batch, 'shape', type(batch).__name__)}."
        )
    if not batch.is_floating_point():
        raise ValueError(f"ImageViews needs floating-point images, got {batch.dtype}.")


def apply_chosen(unit, chosen, subsets):
    """Each image through the operation whose index in ``OPERATIONS`` it has in ``chosen``.

    -1 leaves an image as it is. Every operation draws its random
    magnitudes for the whole batch, in a fixed order, so the result does
    not depend on ``subsets``: with it, each operation computes only the
    images that chose it (fastest on a CPU); without it, every operation
    computes every image and the chosen results are kept, which needs no
    host synchronisation (for GPUs).
    """
    augmented = unit.clone() if subsets else unit
    for code, operation in enumerate(OPERATIONS.values()):
        draws = operation.draw(unit)
        selected = chosen == code
        if subsets:
            rows = selected.nonzero().view(-1)
            if len(rows):
                augmented[rows] = operation.apply(unit[rows], *(draw[rows] for draw in draws))
        else:
            computed = operation.apply(unit, *draws)
            augmented = torch.where(selected[:, None, None, None], computed, augmented)
    return augmented


class _Operation:
    """An operation of the strong view: ``draw`` random magnitudes for a batch, then ``apply``."""

    def __init__(self, apply, draw=lambda batch: ()):
        self.apply, self.draw, self.__name__ = apply, draw, apply.__name__

    def __call__(self, batch):
        return self.apply(batch, *self.draw(batch))


def _one_per_image(batch):
    """One uniform draw per image, shaped to broadcast over its pixels."""
    return (torch.rand(len(batch), 1, 1, 1, device=batch.device, dtype=batch.dtype),)


def _between(draw, low, high):
    return low + (high - low) * draw


def random_crop(batch, pad):
    """Reflect-pad each image by ``pad`` pixels and crop it back at a random offset."""
    if pad == 0:
        return batch
    n, channels, height, width = batch.shape
    padded = F.pad(batch, (pad, pad, pad, pad), mode="reflect")
    top = torch.randint(2 * pad + 1, (n, 1), device=batch.device)
    left = torch.randint(2 * pad + 1, (n, 1), device=batch.device)
    rows = top + torch.arange(height, device=batch.device)
    columns = left + torch.arange(width, device=batch.device)
    padded = padded.gather(2, rows[:, None, :, None].expand(n, channels, height, width + 2 * pad))
    return padded.gather(3, columns[:, None, None, :].expand(n, channels, height, width))


def cutout(batch, side):
    """Paint a grey (0.5) square of ``side`` pixels at a random place in each image."""
    n, _, height, width = batch.shape
    centre_row = torch.randint(height, (n, 1, 1), device=batch.device)
    centre_column = torch.randint(width, (n, 1, 1), device=batch.device)
    rows = torch.arange(height, device=batch.device)[None, :, None] - centre_row
    columns = torch.arange(width, device=batch.device)[None, None, :] - centre_column
    start = -(side // 2)
    inside = (rows >= start) & (rows < start + side) & (columns >= start) & (columns < start + side)
    return batch.masked_fill(inside[:, None], 0.5)


# Operations of the strong view on images scaled to [0, 1]. Each takes the
# images and its draws (one magnitude per image) and returns images in [0, 1]
# of the same shape.


def brightness(batch, draw):
    return (batch * _between(draw, 0.1, 1.9)).clamp(0, 1)


def contrast(batch, draw):
    mean = batch.mean(dim=(1, 2, 3), keepdim=True)
    return (mean + _between(draw, 0.1, 1.9) * (batch - mean)).clamp(0, 1)


def sharpness(batch, draw):
    # PIL's smoothing kernel: the 3 x 3 neighbourhood with the centre weighted 5, over 13.
    box = F.avg_pool2d(F.pad(batch, (1, 1, 1, 1), mode="replicate"), 3, stride=1) * 9
    blurred = (box + 4 * batch) / 13
    return (blurred + _between(draw, 0.1, 1.9) * (batch - blurred)).clamp(0, 1)


def posterize(batch, bits):
    levels = (2**bits).to(batch.dtype)
    return torch.floor(batch * levels).clamp(max=levels - 1) / (levels - 1)


def _bits(batch):
    return (torch.randint(4, 9, (len(batch), 1, 1, 1), device=batch.device),)


def solarize(batch, draw):
    return torch.where(batch >= draw, 1 - batch, batch)


def autocontrast(batch):
    low = batch.amin(dim=(2, 3), keepdim=True)
    high = batch.amax(dim=(2, 3), keepdim=True)
    stretched = (batch - low) / (high - low).clamp_min(1e-12)
    return torch.where(high > low, stretched, batch)


def equalize(batch, bins=256):
    """Histogram equalisation of each channel, on ``bins`` grey levels."""
    n, channels, height, width = batch.shape
    levels = (batch * (bins - 1)).round().long().flatten(2)
    histogram = torch.zeros(n, channels, bins, device=batch.device, dtype=batch.dtype)
    histogram.scatter_add_(2, levels, torch.ones_like(levels, dtype=batch.dtype))
    cdf = histogram.cumsum(dim=2) / (height * width)
    lowest = cdf.gather(2, levels.amin(dim=2, keepdim=True))
    equalized = (cdf.gather(2, levels) - lowest) / (1 - lowest).clamp_min(1e-12)
    return torch.where(lowest < 1, equalized, batch.flatten(2)).view_as(batch)


def _affine(batch, matrix):
    grid = F.affine_grid(matrix.to(batch.dtype), list(batch.shape), align_corners=False)
    return F.grid_sample(batch, grid, padding_mode="reflection", align_corners=False)


def rotate(batch, draw):
    angle = _between(draw, -math.pi / 6, math.pi / 6).view(-1)
    cos, sin, zero = angle.cos(), angle.sin(), torch.zeros_like(angle)
    matrix = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    return _affine(batch, matrix)


def shear(batch, draw, axis_draw):
    amount = _between(draw, -0.3, 0.3).view(-1)
    along_x = axis_draw < 0.5
    zero, one = torch.zeros_like(amount), torch.ones_like(amount)
    shear_x, shear_y = torch.where(along_x, amount, zero), torch.where(along_x, zero, amount)
    matrix = torch.stack(
        [torch.stack([one, shear_x, zero], 1), torch.stack([shear_y, one, zero], 1)], 1
    )
    return _affine(batch, matrix)


def _shear_draws(batch):
    return _one_per_image(batch) + (torch.rand(len(batch), device=batch.device),)


def translate(batch, draw_x, draw_y):
    # affine_grid spans [-1, 1], so a shift of a fraction f of the side is 2 f.
    shift = 2 * torch.stack([_between(d, -0.3, 0.3).view(-1) for d in (draw_x, draw_y)], 1)
    identity = torch.eye(2, device=batch.device, dtype=batch.dtype).expand(len(batch), 2, 2)
    return _affine(batch, torch.cat([identity, shift[:, :, None]], dim=2))


OPERATIONS = {
    operation.__name__: operation
    for operation in (
        _Operation(brightness, _one_per_image),
        _Operation(contrast, _one_per_image),
        _Operation(sharpness, _one_per_image),
        _Operation(posterize, _bits),
        _Operation(solarize, _one_per_image),
        _Operation(autocontrast),
        _Operation(equalize),
        _Operation(rotate, _one_per_image),
        _Operation(shear, _shear_draws),
        _Operation(translate, lambda batch: _one_per_image(batch) + _one_per_image(batch)),
    )
}
