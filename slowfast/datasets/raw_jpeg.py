"""DATA.DECODE_DEVICE cuda: workers read JPEG bytes and choose crops; the GPU decodes.

At 1080p, JPEG decoding is most of the loader's CPU time (a few hundred frames/s per core),
so a GPU training at hundreds of clips/s would need dozens of cores. On this path a worker
only makes the item's seeded choices (the same frames and crop boxes as the CPU path, from
the same generator) and reads the files; ``slowfast.engine.gpu_decode`` decodes a whole
batch with nvJPEG and crops/resizes on the device. Photometric augmentation is not
available here; DATA.REVERSE_INPUT_CHANNEL is applied by the engine's InputPrep on both paths. Headers are checked in the worker, so a missing, empty or
non-JPEG file is replaced like on the CPU path; a file corrupt past its header fails in the
engine's decode, naming the clip's first frame.
"""
import torch

from slowfast.datasets.errors import BadInputError
from slowfast.datasets.frames import jpeg_size, read_bytes


def check_raw_decoding(cfg):
    """Fail at start-up, with the reason, where DATA.DECODE_DEVICE cuda cannot work."""
    if cfg.DATA.DECODE_DEVICE != "cuda":
        return
    if not torch.cuda.is_available() or cfg.NUM_GPUS < 1:
        raise ValueError(
            f"DATA.DECODE_DEVICE='cuda' needs a CUDA GPU (torch.cuda.is_available()={torch.cuda.is_available()}, "
            f"NUM_GPUS={cfg.NUM_GPUS}); set DATA.DECODE_DEVICE cpu"
        )
    for key in ("TRAIN.DATASET", "TEST.DATASET"):
        name = cfg.TRAIN.DATASET if key == "TRAIN.DATASET" else cfg.TEST.DATASET
        if name != "meccano":
            raise ValueError(f"DATA.DECODE_DEVICE='cuda' reads JPEG frames (dataset meccano), not {key}={name!r}")
    if cfg.AUG.ENABLE or cfg.AUG.COLOR_JITTER_PROB > 0 or cfg.DATA.COLOR_RND_GRAYSCALE > 0:
        raise ValueError(
            "DATA.DECODE_DEVICE='cuda' does no photometric augmentation: set AUG.ENABLE False, "
            "AUG.COLOR_JITTER_PROB 0 and DATA.COLOR_RND_GRAYSCALE 0, or DATA.DECODE_DEVICE cpu"
        )


def crop_box(plan, width, height):
    """Integer ``(x0, y0, x1, y1)`` of ``plan``'s box in a full-size ``width x height`` image (CropPlan.apply's rounding)."""
    x0 = min(max(int(round(plan.x)), 0), width - 1)
    y0 = min(max(int(round(plan.y)), 0), height - 1)
    x1 = min(max(int(round(plan.x + plan.w)), x0 + 1), width)
    y1 = min(max(int(round(plan.y + plan.h)), y0 + 1), height)
    return x0, y0, x1, y1


class RawClip:
    """One item: the distinct frames' bytes end to end, which of them each clip frame is, the crop."""

    __slots__ = ("data", "lengths", "order", "box", "out", "flip", "path")

    def __init__(self, data, lengths, order, box, out, flip, path):
        self.data, self.lengths, self.order = data, lengths, order
        self.box, self.out, self.flip, self.path = box, out, flip, path


class RawBatch:
    """A batch of RawClips: one byte tensor, frame lengths, and per-clip frame counts, orders and crops."""

    __slots__ = ("data", "lengths", "counts", "order", "boxes", "out", "flips", "paths")

    def __init__(self, clips):
        sizes = {c.out for c in clips}
        if len(sizes) != 1:
            raise ValueError(f"clips of one batch must share their output size, got {sorted(sizes)}")
        self.data = torch.cat([c.data for c in clips])
        self.lengths = [n for c in clips for n in c.lengths]
        self.counts = [len(c.lengths) for c in clips]
        self.order = torch.stack([c.order for c in clips])
        self.boxes = [c.box for c in clips]
        self.out = sizes.pop()
        self.flips = [c.flip for c in clips]
        self.paths = [c.path for c in clips]

    def __len__(self):
        return len(self.counts)


class RawJpegClips(torch.utils.data.Dataset):
    """A MECCANO dataset's items as RawClips, with the dataset's seeds and bad-input replacement."""

    def __init__(self, dataset):
        if not hasattr(dataset, "segments") or not hasattr(dataset, "frame_path"):
            raise ValueError(f"DATA.DECODE_DEVICE='cuda' needs JPEG frames; {type(dataset).__name__} has none")
        self.dataset = dataset
        self.num_samples = dataset.num_samples
        self.sample_labels = dataset.sample_labels
        self.class_names = dataset.class_names
        self.num_views = dataset.num_views

    def __len__(self):
        return len(self.dataset)

    def _read(self, sample, rng, temporal_view, spatial_view):
        """Meccano._load's choices (same generator draws in the same order), bytes instead of pixels."""
        d = self.dataset
        seg = d.segments[sample]
        hi = d._last_frame.get(seg.video, seg.end)
        indices = d.temporal(seg.start, seg.end, 1, hi, rng, temporal_view, d.num_temporal_views)
        numbers = sorted(set(indices.tolist()))
        paths = [d.frame_path(seg.video, n) for n in numbers]
        data = [read_bytes(p) for p in paths]
        src_w, src_h = jpeg_size(data[0], paths[0])
        for b, p in zip(data[1:], paths[1:]):
            if jpeg_size(b, p) != (src_w, src_h):  # one crop plan serves the whole clip
                raise BadInputError(p, f"frame is {'x'.join(map(str, jpeg_size(b, p)))}, frame {paths[0]} "
                                       f"of the same clip is {src_w}x{src_h}")
        plan = d.spatial(src_w, src_h, rng, spatial_view)
        position = {n: k for k, n in enumerate(numbers)}
        clip = RawClip(
            torch.frombuffer(bytearray(b"".join(data)), dtype=torch.uint8), [len(b) for b in data],
            torch.tensor([position[n] for n in indices.tolist()], dtype=torch.long),
            crop_box(plan, src_w, src_h), (plan.out_h, plan.out_w), plan.flip, paths[0],
        )
        return clip, indices

    def __getitem__(self, key):
        clip, _, current, meta = self.dataset.read_item(key, self._read)
        return clip, self.dataset.sample_labels[current], current, meta

