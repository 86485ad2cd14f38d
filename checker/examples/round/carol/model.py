import numpy as np
import torch
from torch import nn

from data import get_loaders


def build(width=512):
    """A plain MLP: I wanted to see how far a model without convolutions gets."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(3 * 32 * 32, width), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(width, width // 2), nn.ReLU(),
        nn.Linear(width // 2, 10),
    )


def fit(model, batches, n_epochs=5, lr=1e-3):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    curve = []
    epoch = 0
    while epoch < n_epochs:
        total = 0.0
        for xb, yb in batches:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss)
        curve.append(total / len(batches))
        epoch += 1
    return np.array(curve)


if __name__ == "__main__":
    train_loader, _ = get_loaders()
    print(fit(build(), train_loader))
