"""Run by test_ddp.py as one process or under torchrun: train and evaluate a BN-free model.

Usage: python ddp_worker.py CONFIG.yaml RUN_DIR [--resume]
"""
import sys

import torch
from torch import nn

from ean.engine.config import load_config
from ean.engine.loop import train


class NoBatchNorm(nn.Module):
    """Without BatchNorm the result of a global batch does not depend on how it is split."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.conv = nn.Conv3d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3, 4)))


if __name__ == "__main__":
    torch.set_num_threads(1)
    config, run = sys.argv[1], sys.argv[2]
    train(load_config(config), run, resume="--resume" in sys.argv[3:],
          model_factory=lambda mc: NoBatchNorm(mc.num_classes))
