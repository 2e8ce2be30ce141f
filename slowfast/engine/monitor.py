"""Run monitoring: json_stats.log lines, TensorBoard events, progress bar or periodic lines.

Only the main process writes; the other ranks get objects that do nothing, so the loop
calls them unconditionally.
"""
import json
import logging
import math
import os
import resource
import sys

import torch

logger = logging.getLogger(__name__)


def peak_memory_mb(device):
    """Peak CUDA memory allocated on ``device``, or this process's peak RSS on CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class JsonStats:
    """Appends one JSON object per line to OUTPUT_DIR/json_stats.log.

    A write that fails part-way (a full disk) is cut back to the previous line end, so the
    file never holds a torn line that the report reader would refuse or a resumed run would
    append to; the error names the file.
    """

    def __init__(self, output_dir, enabled):
        self.path = os.path.join(output_dir, "json_stats.log") if enabled else None

    def write(self, kind, **fields):
        if self.path is None:
            return
        record = {"_type": kind, **{k: _clean(v) for k, v in fields.items()}}
        data = (json.dumps(record, sort_keys=True) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            start = os.fstat(fd).st_size
            try:
                while data:
                    data = data[os.write(fd, data):]
            except OSError as e:
                try:
                    os.ftruncate(fd, start)
                except OSError:
                    pass  # not a regular file (a device): nothing was kept anyway
                raise OSError(e.errno, f"{self.path}: could not append the {kind!r} record ({e.strerror}); "
                                       "the lines before it are intact") from e
        finally:
            os.close(fd)


class TensorBoard:
    """Scalars and matplotlib figures under OUTPUT_DIR/tensorboard (or TENSORBOARD.LOG_DIR)."""

    def __init__(self, cfg, enabled):
        self.writer = None
        self.confusion = cfg.TENSORBOARD.CONFUSION_MATRIX.ENABLE
        self.figsize = tuple(cfg.TENSORBOARD.CONFUSION_MATRIX.FIGSIZE)
        if enabled and cfg.TENSORBOARD.ENABLE:
            from torch.utils.tensorboard import SummaryWriter

            log_dir = os.path.join(cfg.OUTPUT_DIR, cfg.TENSORBOARD.LOG_DIR or "tensorboard")
            self.writer = SummaryWriter(log_dir=log_dir)
            logger.info("TensorBoard events in %s", log_dir)

    def scalars(self, values, step):
        if self.writer is None:
            return
        for tag, value in values.items():
            if value is not None and math.isfinite(value):
                self.writer.add_scalar(tag, value, step)

    def metrics(self, prefix, metrics, class_names, step):
        """Epoch metrics, the per-class accuracy chart and (if enabled) the confusion matrix."""
        if self.writer is None:
            return
        keys = ("loss", "top1", "top5", "mean_class_acc", "macro_precision", "macro_recall", "macro_f1")
        self.scalars({f"{prefix}/{k}": metrics[k] for k in keys if metrics.get(k) is not None}, step)
        from slowfast.engine import plots

        per_class = plots.per_class_figure(metrics["per_class_acc"], class_names)
        self.writer.add_figure(f"{prefix}/per_class_acc", per_class, step)
        if self.confusion:
            confusion = plots.confusion_figure(metrics["confusion"], class_names, self.figsize)
            self.writer.add_figure(f"{prefix}/confusion_matrix", confusion, step)
        self.writer.flush()

    def close(self):
        if self.writer is not None:
            self.writer.close()


class Progress:
    """A tqdm bar with ETA on a terminal; otherwise the caller's periodic log lines suffice."""

    def __init__(self, total, desc, enabled):
        self.bar = None
        if enabled and sys.stdout.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, dynamic_ncols=True, leave=False)

    @property
    def is_bar(self):
        return self.bar is not None

    def update(self, n=1):
        if self.bar is not None:
            self.bar.update(n)

    def show(self, **fields):
        if self.bar is not None:
            self.bar.set_postfix({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in fields.items()})

    def close(self):
        if self.bar is not None:
            self.bar.close()
