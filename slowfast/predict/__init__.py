"""Sliding-window prediction on a video file or a frames folder (tools/predict.py)."""
import torch

from slowfast.engine.checkpoint import CheckpointError, load_weights
from slowfast.engine.model_setup import InputPrep
from slowfast.models import build_model
from slowfast.predict.output import summary_lines, write_predictions
from slowfast.predict.overlay import write_labelled_video
from slowfast.predict.predictor import Predictor, predict
from slowfast.predict.source import InputError
from slowfast.predict.transform import TestCrop

__all__ = ["InputError", "Predictor", "build_predictor", "predict", "summary_lines",
           "write_labelled_video", "write_predictions"]


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
    device = torch.device("cuda" if cfg.NUM_GPUS > 0 and torch.cuda.is_available() else "cpu")
    model = model.to(device)
    prep = InputPrep.from_cfg(cfg, device, model)
    return Predictor(model, TestCrop(cfg.DATA.TEST_CROP_SIZE), prep, class_names, batch_size)
