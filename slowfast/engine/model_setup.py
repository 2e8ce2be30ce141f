"""Put the model on its device in the requested form: channels-last, SyncBN, DDP, compiled.

Also the device-side input preparation: clips arrive as uint8 and are normalised here, on
the device, as (x / 255 - MEAN) / STD (then RGB -> BGR with DATA.REVERSE_INPUT_CHANNEL, as
PySlowFast does after normalising).
"""
import logging

import torch

from slowfast.datasets.raw_jpeg import RawBatch
from slowfast.engine.gpu_decode import decode_batch

logger = logging.getLogger(__name__)


def has_conv3d(model):
    return any(isinstance(m, torch.nn.Conv3d) for m in model.modules())


class InputPrep:
    """uint8 B x C x T x H x W on the host (or a RawBatch of JPEG bytes) -> normalised float on the device."""

    def __init__(self, mean, std, reverse_channels, device, channels_last):
        shape = (1, -1, 1, 1, 1)
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(shape)
        self.std = torch.tensor(std, dtype=torch.float32, device=device).view(shape)
        self.reverse = reverse_channels
        self.device = device
        self.channels_last = channels_last

    @classmethod
    def from_cfg(cls, cfg, device, model):
        channels_last = cfg.MODEL.CHANNELS_LAST and has_conv3d(model)
        return cls(cfg.DATA.MEAN, cfg.DATA.STD, cfg.DATA.REVERSE_INPUT_CHANNEL, device, channels_last)

    def __call__(self, clips):
        if isinstance(clips, RawBatch):  # DATA.DECODE_DEVICE cuda: JPEG bytes from the workers
            clips = decode_batch(clips, self.device)
        if clips.dtype != torch.uint8 or clips.ndim != 5:
            raise TypeError(f"expected uint8 clips B x C x T x H x W, got {clips.dtype} {tuple(clips.shape)}")
        x = clips.to(self.device, non_blocking=True).float().div_(255.0).sub_(self.mean).div_(self.std)
        if self.reverse:
            x = x.flip(1)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        return x


class CompiledOrEager:
    """torch.compile'd forward that falls back to eager (with a warning) if compiling fails."""

    def __init__(self, module, mode):
        self.eager = module
        self.compiled = torch.compile(module, mode=mode)

    def __call__(self, x):
        if self.compiled is not None:
            try:
                return self.compiled(x)
            except Exception as e:  # dynamo/inductor failures surface at the first call
                logger.warning("torch.compile failed (%s: %s); running eagerly", type(e).__name__, e)
                self.compiled = None
        return self.eager(x)


def prepare_model(model, cfg, ctx):
    """Returns (model to train/save, possibly DDP-wrapped; callable used for forward passes)."""
    if cfg.BN.NORM_TYPE == "sync_batchnorm":
        if ctx.device.type != "cuda":
            raise ValueError(
                "BN.NORM_TYPE sync_batchnorm needs GPUs (torch.nn.SyncBatchNorm refuses CPU modules); "
                "use BN.NORM_TYPE batchnorm with NUM_GPUS 0"
            )
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model = model.to(ctx.device)
    if cfg.MODEL.CHANNELS_LAST:
        if has_conv3d(model):
            model = model.to(memory_format=torch.channels_last_3d)
        else:
            logger.warning("MODEL.CHANNELS_LAST ignored: the model has no 3D convolutions")
    if ctx.distributed:
        ids = [ctx.device.index] if ctx.device.type == "cuda" else None
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids, output_device=ids[0] if ids else None)
    forward = CompiledOrEager(model, cfg.MODEL.COMPILE_MODE) if cfg.MODEL.COMPILE else model
    return model, forward
