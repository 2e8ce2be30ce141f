"""Datasets: MECCANO frames, video folders, and the loaders that feed the engine."""
from slowfast.datasets.registry import DATASETS, build_dataset

__all__ = ["DATASETS", "build_dataset"]
