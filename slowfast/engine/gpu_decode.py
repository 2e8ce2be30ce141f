"""Decode a RawBatch (DATA.DECODE_DEVICE cuda) on the device: nvJPEG, crop, resize, flip.

All distinct frames of the batch go to ``torchvision.io.decode_jpeg`` in one call (batched
nvJPEG on CUDA); each clip's frames are then cropped to its box in full-size pixels, resized
together with antialiased bilinear interpolation (the CPU path uses DCT scaling and
INTER_AREA, so pixels differ by a few levels, not the frames or boxes) and put in clip order.
The result is the uint8 B x C x T x H x W batch the CPU path would have delivered.
"""
import torch
import torch.nn.functional as F
from torchvision.io import ImageReadMode, decode_jpeg


def decode_batch(batch, device):
    """uint8 clips B x C x T x H x W on ``device`` from a ``slowfast.datasets.raw_jpeg.RawBatch``."""
    chunks = list(torch.split(batch.data, batch.lengths))
    try:
        images = decode_jpeg(chunks, mode=ImageReadMode.RGB, device=device)
    except RuntimeError as e:
        raise RuntimeError(f"JPEG decoding on {device} failed for the batch of {', '.join(batch.paths)}: {e}") from e
    out_h, out_w = batch.out
    orders = batch.order.to(device, non_blocking=True)
    clips, start = [], 0
    for count, (x0, y0, x1, y1), flip, order in zip(batch.counts, batch.boxes, batch.flips, orders):
        frames = torch.stack(images[start:start + count])[:, :, y0:y1, x0:x1]
        start += count
        if frames.shape[-2:] != (out_h, out_w):
            frames = F.interpolate(frames.float(), size=(out_h, out_w), mode="bilinear", antialias=True,
                                   align_corners=False).round_().clamp_(0, 255).to(torch.uint8)
        if flip:
            frames = frames.flip(-1)
        clips.append(frames[order].transpose(0, 1))
    return torch.stack(clips)
