"""Settings shared by the dataset tests: tiny synthetic data and a matching config."""
from slowfast.config import load_config

# 5 recordings (3 train / 1 val / 1 test) x 7 segments (odd test count) at 64x48: about a second.
TINY = dict(classes=4, videos=5, size=(64, 48), seed=3, segments_per_video=7, segment_frames=(6, 14))


def meccano_cfg(data_dir, *opts):
    """A tiny MECCANO config on ``data_dir`` (4 frames, 32 px crops, no workers); ``opts`` override."""
    base = [
        "NUM_GPUS", "0", "TRAIN.DATASET", "meccano", "TEST.DATASET", "meccano",
        "MODEL.NUM_CLASSES", "4", "DATA.PATH_TO_DATA_DIR", str(data_dir),
        "DATA.PATH_TO_ANNOTATIONS", str(data_dir / "annotations"),
        "DATA.NUM_FRAMES", "4", "DATA.SAMPLING_RATE", "2", "DATA.SAMPLING_METHOD", "segment_uniform",
        "DATA.TRAIN_JITTER_SCALES", "[32, 40]", "DATA.TRAIN_CROP_SIZE", "32", "DATA.TEST_CROP_SIZE", "32",
        "TRAIN.BATCH_SIZE", "4", "TEST.BATCH_SIZE", "4", "DATA_LOADER.NUM_WORKERS", "0",
        "TEST.NUM_ENSEMBLE_VIEWS", "1", "TEST.NUM_SPATIAL_CROPS", "1", "RNG_SEED", "5",
    ]
    return load_config(None, base + list(opts))
