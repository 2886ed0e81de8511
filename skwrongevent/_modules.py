"""The default network for tabular data."""

from torch import nn


class MLP(nn.Module):
    """A multi-layer perceptron that returns logits.

    ``WrongEventClassifier`` builds it when ``module=None``, with
    ``n_features`` and ``n_classes`` taken from the training data; set the
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

    def forward(self, X):
        return self.layers(X)
