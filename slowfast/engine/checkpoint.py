"""Checkpoints in PySlowFast's ``.pyth`` format, written atomically, loaded without pickled code.

A checkpoint is ``{"epoch", "model_state", "optimizer_state", "cfg"}`` as in PySlowFast,
where ``epoch`` is the 0-based index of the last finished epoch and the file is
``checkpoint_epoch_{epoch + 1:05d}.pyth``. We add ``scaler_state`` (fp16 runs), ``best``
(the best validation result so far) and, for a checkpoint saved by SIGTERM/SIGINT in the
middle of an epoch, ``iter_in_epoch`` and ``rng_states``; such a file is named
``checkpoint_epoch_{finished:05d}_iter_{iters:05d}.pyth``. Every file is written under a
temporary dot-name and renamed, so resume never sees a half-written checkpoint.
"""
import logging
import os
import re

import numpy as np
import torch

from slowfast.engine import caffe2
from slowfast.utils.io import atomic_path

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^checkpoint_epoch_(\d{5,})(?:_iter_(\d{5,}))?\.pyth$")
BEST_NAME = "best.pyth"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used; the message names the file."""


def checkpoint_dir(output_dir):
    return os.path.join(output_dir, "checkpoints")


def checkpoint_path(output_dir, epochs_done, iters=0):
    name = f"checkpoint_epoch_{epochs_done:05d}" + (f"_iter_{iters:05d}" if iters else "") + ".pyth"
    return os.path.join(checkpoint_dir(output_dir), name)


def list_checkpoints(output_dir):
    """[(epochs_done, iters, path)] of complete checkpoints, oldest first."""
    directory = checkpoint_dir(output_dir)
    found = []
    for name in os.listdir(directory) if os.path.isdir(directory) else []:
        m = _NAME.match(name)
        if m:
            found.append((int(m.group(1)), int(m.group(2) or 0), os.path.join(directory, name)))
    return sorted(found)


def last_checkpoint(output_dir):
    found = list_checkpoints(output_dir)
    return found[-1][2] if found else None


def unwrap(model):
    """The plain module under DistributedDataParallel and torch.compile wrappers."""
    while True:
        if isinstance(model, torch.nn.parallel.DistributedDataParallel):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model


def save_checkpoint(path, model, optimizer, epoch, cfg, scaler=None, extra=None):
    """Write a PySlowFast-format checkpoint atomically; ``epoch`` is the finished epoch's index."""
    state = {
        "epoch": epoch,
        "model_state": unwrap(model).state_dict(),
        "optimizer_state": optimizer.state_dict(),
        "cfg": cfg.dump(),
    }
    if scaler is not None and scaler.is_enabled():
        state["scaler_state"] = scaler.state_dict()
    state.update(extra or {})
    try:
        with atomic_path(path) as tmp:
            # Through a Python file: a full disk is then OSError(ENOSPC), not an opaque zip-writer error.
            with open(tmp, "wb") as f:
                torch.save(state, f)
    except OSError as e:
        raise CheckpointError(
            f"{path}: could not write the checkpoint ({e}); no partial file was left and earlier "
            "checkpoints are untouched (full disk or unwritable checkpoint folder?)"
        ) from e
    logger.info("Saved checkpoint %s", path)
    return path


def remove_partial_checkpoints(output_dir, up_to_epochs_done):
    """Delete mid-epoch checkpoints superseded by a finished epoch's checkpoint."""
    for done, iters, path in list_checkpoints(output_dir):
        if iters and done < up_to_epochs_done:
            os.remove(path)


def load_file(path):
    """torch.load with weights_only=True; unsafe pickles are refused with the file named."""
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # UnpicklingError for unsafe content, others for corrupt files
        raise CheckpointError(
            f"{path}: refused to load (only tensors and plain containers are accepted; "
            f"nothing pickled is executed): {e}"
        ) from e
    if not isinstance(data, dict) or "model_state" not in data:
        keys = sorted(data)[:10] if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(f"{path}: not a PySlowFast checkpoint (no 'model_state'; found {keys})")
    return data


def _clear_names(state, patterns):
    """PySlowFast's CHECKPOINT_CLEAR_NAME_PATTERN: drop the first occurrence of each pattern."""
    for pattern in patterns:
        renamed = {}
        for key, value in state.items():
            new_key = key.replace(pattern, "", 1) if pattern in key else key
            if new_key != key:
                logger.info("Renamed %s -> %s", key, new_key)
            renamed[new_key] = value
        state = renamed
    return state


def _inflate(state, model_state):
    """2D conv weights (O, I, H, W) -> 3D (O, I, T, H, W), repeated over T and divided by T."""
    out = dict(state)
    for key, value in state.items():
        target = model_state.get(key)
        if target is not None and value.ndim == 4 and target.ndim == 5 \
                and value.shape[:2] == target.shape[:2] and value.shape[-2:] == target.shape[-2:]:
            t = target.shape[2]
            out[key] = value.unsqueeze(2).repeat(1, 1, t, 1, 1) / t
            logger.info("Inflated %s: %s -> %s", key, tuple(value.shape), tuple(target.shape))
    return out


class LoadReport:
    """What a weights load did: loaded keys, skipped (shape) keys, missing and unused keys."""

    def __init__(self, loaded, shape_mismatch, missing, unexpected):
        self.loaded = loaded
        self.shape_mismatch = shape_mismatch  # [(key, checkpoint shape, model shape)]
        self.missing = missing
        self.unexpected = unexpected

    def incomplete(self):
        """Model tensors that kept their initial values (num_batches_tracked does not count)."""
        names = [k for k, _, _ in self.shape_mismatch] + self.missing
        return [k for k in names if not k.endswith("num_batches_tracked")]


def read_model_state(path, checkpoint_type, model_state):
    """(state dict of tensors, full checkpoint dict or None for caffe2) from ``path``."""
    if checkpoint_type == "caffe2":
        try:
            blobs = caffe2.load_caffe2_blobs(path)
        except FileNotFoundError as e:
            raise CheckpointError(f"checkpoint not found: {path}") from e
        except caffe2.Caffe2LoadError as e:
            raise CheckpointError(str(e)) from e
        arrays, unconverted = caffe2.blobs_to_state_dict(blobs, model_state)
        if unconverted:
            logger.info("%d Caffe2 blobs match no model tensor (solver state or unsupported layers): %s",
                        len(unconverted), ", ".join(sorted(unconverted)[:20]))
        return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}, None
    if checkpoint_type != "pytorch":
        raise CheckpointError(f"checkpoint type {checkpoint_type!r} is not pytorch or caffe2 ({path})")
    data = load_file(path)
    return dict(data["model_state"]), data


def load_weights(path, model, checkpoint_type="pytorch", inflate=False, clear_name_pattern=()):
    """Load matching tensors of ``path`` into ``model``; log exactly what was skipped.

    Order: read (and map Caffe2 names), clear name patterns, ``model.adapt_state_dict``,
    inflate, then keep the tensors whose name and shape match the model. Returns
    (LoadReport, checkpoint dict or None).
    """
    model = unwrap(model)
    model_state = model.state_dict()
    state, data = read_model_state(path, checkpoint_type, model_state)
    state = _clear_names(state, clear_name_pattern)
    if hasattr(model, "adapt_state_dict"):
        state = model.adapt_state_dict(state)
    if inflate:
        state = _inflate(state, model_state)
    matched, mismatch = {}, []
    for key, value in state.items():
        if key in model_state:
            if tuple(value.shape) == tuple(model_state[key].shape):
                matched[key] = value
            else:
                mismatch.append((key, tuple(value.shape), tuple(model_state[key].shape)))
    missing = [k for k in model_state if k not in state]
    unexpected = [k for k in state if k not in model_state]
    model.load_state_dict(matched, strict=False)
    report = LoadReport(sorted(matched), mismatch, missing, unexpected)
    logger.info("Loaded %d/%d model tensors from %s", len(matched), len(model_state), path)
    for key, ckpt_shape, model_shape in mismatch:
        logger.warning("Not loaded (shape mismatch, kept initialisation): %s: checkpoint %s vs model %s",
                       key, list(ckpt_shape), list(model_shape))
    counters = [k for k in missing if k.endswith("num_batches_tracked")]
    for key in missing:
        if key not in counters:
            logger.warning("Not loaded (absent from checkpoint, kept initialisation): %s %s",
                           key, list(model_state[key].shape))
    if counters:
        logger.info("%d BatchNorm num_batches_tracked counters absent from the checkpoint (unused by the maths)",
                    len(counters))
    if unexpected:
        logger.warning("Checkpoint tensors unused by this model: %s", ", ".join(unexpected))
    return report, data
