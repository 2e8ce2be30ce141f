"""Validation / test inference: per-view scores (MODEL.HEAD_ACT of the logits: softmax by
default), gathered so each view counts once, then aggregated per sample (sum or max of the
views' scores, PySlowFast's ensemble)."""
import functools
import logging
import time

import numpy as np
import torch
import torch.nn.functional as F

from slowfast.engine.distributed import all_gather_objects

logger = logging.getLogger(__name__)


# MODEL.HEAD_ACT -> what turns logits into scores (PySlowFast's eval-mode head activation).
ACTIVATIONS = {"softmax": functools.partial(F.softmax, dim=1), "sigmoid": torch.sigmoid}


def activation(name):
    if name not in ACTIVATIONS:
        raise ValueError(f"MODEL.HEAD_ACT={name!r} is not one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


@torch.no_grad()
def predict(forward, loader, prepare, autocast, ctx, progress=None, act=ACTIVATIONS["softmax"]):
    """Run every batch of ``loader`` through ``forward``; gather all ranks' views on every rank.

    Returns dict of numpy arrays over views: scores (``act`` of the logits, float32), loss
    (per-view cross entropy), labels, index, view, video_id; plus bad (unreadable items
    replaced), bad_files, seconds (wall time) and views (count before de-duplication).
    """
    start = time.perf_counter()
    scores, losses, labels, index, view, video_id, bad_files = [], [], [], [], [], [], []
    bad = 0
    for clips, y, idx, meta in loader:
        with autocast():
            logits = forward(prepare(clips))
        logits = logits.float()
        y_dev = y.to(logits.device, non_blocking=True)
        scores.append(act(logits))
        losses.append(F.cross_entropy(logits, y_dev, reduction="none"))
        labels.append(y)
        index.append(idx)
        view.append(meta["view"])
        video_id.extend(meta["video_id"])
        bad += int(meta["bad"].sum())
        bad_files.extend(f for files in meta["bad_files"] for f in files)
        if progress is not None:
            progress.update()
    local = {
        "scores": torch.cat(scores).cpu().numpy() if scores else np.zeros((0, 0), np.float32),
        "loss": torch.cat(losses).cpu().numpy() if losses else np.zeros(0, np.float32),
        "labels": torch.cat(labels).numpy().astype(np.int64) if labels else np.zeros(0, np.int64),
        "index": torch.cat(index).numpy().astype(np.int64) if index else np.zeros(0, np.int64),
        "view": torch.cat(view).numpy().astype(np.int64) if view else np.zeros(0, np.int64),
        "video_id": np.asarray(video_id, dtype=str),
        "bad": bad,
        "bad_files": bad_files,
    }
    parts = all_gather_objects(local, ctx)
    nonempty = [p for p in parts if len(p["labels"])]
    if not nonempty:
        raise RuntimeError(f"the loader of {getattr(loader.dataset, 'split', 'this split')} yielded no items")
    keys = ("scores", "loss", "labels", "index", "view", "video_id")
    out = {k: np.concatenate([p[k] for p in nonempty]) for k in keys}
    out["bad"] = sum(p["bad"] for p in parts)
    out["bad_files"] = [f for p in parts for f in p["bad_files"]]
    out["views"] = len(out["labels"])
    out["seconds"] = time.perf_counter() - start
    return out


def aggregate_views(pred, num_views, method="sum"):
    """One row per sample id: keep the first copy of each (index, view), combine the views.

    Also returns ``loss``, the mean per-view cross entropy over the kept views.

    "sum" stores the mean of the views' scores (the sum divided by the number of views:
    same ranking, softmax rows still sum to 1); "max" the element-wise maximum. A sample with a
    missing view or inconsistent labels is an error.
    """
    if method not in ("sum", "max"):
        raise ValueError(f"DATA.ENSEMBLE_METHOD={method!r} is not sum or max")
    pairs = np.stack([pred["index"], pred["view"]], axis=1)
    _, first = np.unique(pairs, axis=0, return_index=True)
    duplicates = len(pairs) - len(first)
    if duplicates:
        logger.info("Dropped %d duplicate views (sampler padding)", duplicates)
    first = np.sort(first)
    loss = float(pred["loss"][first].mean())
    index, view = pred["index"][first], pred["view"][first]
    scores, labels, video_id = pred["scores"][first], pred["labels"][first], pred["video_id"][first]
    order = np.lexsort((view, index))
    index, scores, labels, video_id = index[order], scores[order], labels[order], video_id[order]
    samples, starts, counts = np.unique(index, return_index=True, return_counts=True)
    incomplete = samples[counts != num_views]
    if len(incomplete):
        c = counts[counts != num_views][0]
        raise RuntimeError(
            f"{len(incomplete)} samples do not have {num_views} views (sample {incomplete[0]} has {c}); "
            "the loader must deliver every view of every sample exactly once across processes"
        )
    if np.any(labels != np.repeat(labels[starts], counts)):
        raise RuntimeError("views of one sample carry different labels")
    reducer = np.add if method == "sum" else np.maximum
    agg = reducer.reduceat(scores.astype(np.float64), starts, axis=0)
    if method == "sum":
        agg /= num_views
    return {
        "scores": agg.astype(np.float32),
        "labels": labels[starts],
        "index": samples.astype(np.int64),
        "video_id": video_id[starts],
        "loss": loss,
    }
