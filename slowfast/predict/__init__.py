"""Sliding-window prediction on a video file or a frames folder (tools/predict.py)."""
import torch

from slowfast.datasets.transforms import uniform_crop
from slowfast.engine.checkpoint import CheckpointError, load_weights
from slowfast.models import build_model
from slowfast.predict.output import summary_lines, write_predictions
from slowfast.predict.overlay import write_labelled_video
from slowfast.predict.predictor import Predictor, predict
from slowfast.predict.source import InputError

__all__ = ["InputError", "Predictor", "build_predictor", "predict", "summary_lines",
           "write_labelled_video", "write_predictions"]


def test_frame_transform(test_crop, reverse_channels=False):
    """The engine's single-view test crop: short side to TEST_CROP_SIZE, centre square."""
    plans = {}

    def transform(frame):
        h, w = frame.shape[:2]
        if (w, h) not in plans:
            plans[(w, h)] = uniform_crop(w, h, test_crop, test_crop, 1)
        out = plans[(w, h)].apply(frame, w, h)
        if reverse_channels:
            out = out[:, :, ::-1]
        return torch.from_numpy(out.copy()).permute(2, 0, 1)

    return transform


def build_predictor(cfg, checkpoint, class_names, batch_size=8):
    """Model from ``cfg`` with every tensor loaded from ``checkpoint`` (a partial load is an error)."""
    model = build_model(cfg)
    ckpt_type = "caffe2" if checkpoint.endswith(".pkl") else "pytorch"
    report, _ = load_weights(checkpoint, model, ckpt_type)
    if report.incomplete():
        raise CheckpointError(
            f"{checkpoint}: {len(report.incomplete())} model tensors are missing or have another shape "
            f"(first: {report.incomplete()[0]}); does the checkpoint match --cfg?"
        )
    if len(class_names) != cfg.MODEL.NUM_CLASSES:
        raise ValueError(f"{len(class_names)} class names for MODEL.NUM_CLASSES={cfg.MODEL.NUM_CLASSES}")
    device = "cuda" if cfg.NUM_GPUS > 0 and torch.cuda.is_available() else "cpu"
    transform = test_frame_transform(cfg.DATA.TEST_CROP_SIZE, cfg.DATA.REVERSE_INPUT_CHANNEL)
    return Predictor(model, transform, cfg.DATA.MEAN, cfg.DATA.STD, class_names, device, batch_size)
