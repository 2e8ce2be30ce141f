"""Which class serves which TRAIN.DATASET / TEST.DATASET name, imported lazily."""
import importlib

# dataset name -> "module:Class"; each class is built as Class(cfg, split).
DATASETS = {
    "meccano": "slowfast.datasets.meccano:Meccano",
    "video_folder": "slowfast.datasets.video_folder:VideoFolder",
    # PySlowFast's Kinetics lists (`path label` lines) are the video-folder CSV mode.
    "kinetics": "slowfast.datasets.video_folder:VideoFolder",
}


def dataset_class(name):
    if name not in DATASETS:
        raise ValueError(
            f"dataset {name!r} is not implemented; available: {', '.join(sorted(DATASETS))}"
        )
    module_name, cls_name = DATASETS[name].split(":")
    return getattr(importlib.import_module(module_name), cls_name)


def build_dataset(cfg, split):
    """``split`` is train, val or test; val and test use TEST.DATASET, train TRAIN.DATASET."""
    name = cfg.TRAIN.DATASET if split == "train" else cfg.TEST.DATASET
    return dataset_class(name)(cfg, split)
