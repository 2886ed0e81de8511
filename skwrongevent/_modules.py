"""The default network for tabular data."""

import torch
from torch import nn


class MLP(nn.Module):
    """A multi-layer perceptron that standardises its input and returns logits.

    ``NetClassifier`` and ``WrongEventClassifier`` build it when
    ``module=None``, with ``n_features`` and ``n_classes`` taken from the
    training data, and set its input scaling from the training rows, so
    features on any scale train as well as standardised ones. Set the
    other arguments through ``module__hidden_units`` and ``module__dropout``.

    Parameters
    ----------
    n_features : int
        Width of the input.
    n_classes : int
        Width of the output (one logit per class).
    hidden_units : tuple of int, default=(256, 256)
        Width of each hidden layer.
    dropout : float, default=0.0
        Dropout probability after each hidden layer.

    Attributes
    ----------
    input_mean : torch.Tensor of shape (n_features,)
        Subtracted from every input (a buffer, saved with the weights).
    input_scale : torch.Tensor of shape (n_features,)
        Divides every centred input (a buffer, saved with the weights).

    Examples
    --------
    >>> import torch
    >>> from skwrongevent import MLP
    >>> MLP(n_features=4, n_classes=3)(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
    """

    def __init__(self, n_features, n_classes, hidden_units=(256, 256), dropout=0.0):
        super().__init__()
        layers, width = [], n_features
        for units in hidden_units:
            layers += [nn.Linear(width, units), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = units
        layers.append(nn.Linear(width, n_classes))
        self.layers = nn.Sequential(*layers)
        self.register_buffer("input_mean", torch.zeros(n_features))
        self.register_buffer("input_scale", torch.ones(n_features))

    def set_input_scaling(self, X):
        """Standardise inputs with the mean and spread of the rows ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows (a sample is enough).

        Returns
        -------
        self : MLP
        """
        X = torch.as_tensor(X, dtype=torch.float32)
        scale = X.std(dim=0, correction=0)
        with torch.no_grad():
            self.input_mean.copy_(X.mean(dim=0))
            self.input_scale.copy_(torch.where(scale > 0, scale, torch.ones_like(scale)))
        return self

    def forward(self, X):
        return self.layers((X - self.input_mean) / self.input_scale)
