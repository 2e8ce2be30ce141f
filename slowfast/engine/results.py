"""The run's final files: results.json (metrics, model, timing, environment) and predictions.npz."""
import datetime
import json
import logging
import os
import platform
import socket

import numpy as np
import torch

from slowfast.utils.io import atomic_path, write_text_atomic

logger = logging.getLogger(__name__)


def environment(ctx):
    device = torch.cuda.get_device_name(ctx.device) if ctx.device.type == "cuda" else "cpu"
    return {
        "device": device,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "hostname": socket.gethostname(),
        "world_size": ctx.world_size,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def write_predictions(path, agg):
    """predictions.npz: scores float32 (N, K), labels int64, index int64, video_id str."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(
                f,
                scores=agg["scores"].astype(np.float32),
                labels=agg["labels"].astype(np.int64),
                index=agg["index"].astype(np.int64),
                video_id=np.asarray(agg["video_id"], dtype=str),
            )
    logger.info("Wrote %s", path)


def write_results(output_dir, results):
    path = os.path.join(output_dir, "results.json")
    write_text_atomic(path, json.dumps(results, indent=1) + "\n")
    logger.info("Wrote %s", path)
    return path
