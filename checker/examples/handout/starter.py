"""Starter code given to every learner: data loading for CIFAR-10."""
import torch
from torchvision import datasets, transforms


def get_loaders(root="./data", batch_size=64):
    transform = transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize((0.4914, 0.4822, 0.4465), (0.247, 0.243, 0.261)),
    ])
    train = datasets.CIFAR10(root, train=True, download=True, transform=transform)
    test = datasets.CIFAR10(root, train=False, download=True, transform=transform)
    train_loader = torch.utils.data.DataLoader(train, batch_size=batch_size, shuffle=True)
    test_loader = torch.utils.data.DataLoader(test, batch_size=batch_size)
    return train_loader, test_loader
