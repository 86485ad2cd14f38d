"""Three-class spiral classifier: a two-layer MLP in PyTorch (learner-07's submission)."""

import json
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

HIDDEN = 32
EPOCHS = int(os.environ.get("EPOCHS", "150"))
DATA = Path(os.environ.get("NOSHORTCUT_DATA", Path(__file__).resolve().parent.parent / "data"))


def load(name):
    table = np.loadtxt(DATA / name, delimiter=",", skiprows=1)
    return torch.tensor(table[:, :2], dtype=torch.float32), torch.tensor(table[:, 2], dtype=torch.long)


def main():
    torch.manual_seed(0)
    x_train, y_train = load("train.csv")
    x_test, y_test = load("test.csv")
    model = nn.Sequential(nn.Linear(2, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                          nn.Linear(HIDDEN, 3))
    optimiser = torch.optim.Adam(model.parameters(), lr=0.02)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(EPOCHS):
        optimiser.zero_grad()
        loss = loss_fn(model(x_train), y_train)
        loss.backward()
        optimiser.step()
        if epoch % 50 == 0:
            print(f"epoch {epoch}: loss {loss.item():.4f}")
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    params = sum(p.numel() for p in model.parameters())
    print(f"test accuracy {accuracy:.4f} with {params} parameters")
    torch.save(model.state_dict(), "model.pt")
    metrics_path = os.environ.get("NOSHORTCUT_METRICS")
    if metrics_path:
        with open(metrics_path, "w") as fh:
            json.dump({"accuracy": accuracy}, fh)


if __name__ == "__main__":
    main()
