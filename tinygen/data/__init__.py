"""Training data: synthetic vibration and loaders for users' recordings, split without leaks."""
from .dataset import Dataset, dataset_from_source, folder_dataset, split_windows, synthetic_dataset

__all__ = ["Dataset", "dataset_from_source", "folder_dataset", "split_windows", "synthetic_dataset"]
