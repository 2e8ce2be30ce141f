"""Build run directories exactly as the engine's contract describes, from chosen predictions.

The metrics in results.json are computed here from the predictions, so a report test
can check the report against results.json and predictions.npz together.
"""
import json
import os

import numpy as np


def metrics_from_predictions(scores, labels, num_classes):
    pred = scores.argmax(axis=1)
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (labels, pred), 1)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    diag = np.diag(confusion)
    present = support > 0
    recall = np.where(present, diag / np.maximum(support, 1), 0.0)
    precision = np.where(predicted > 0, diag / np.maximum(predicted, 1), 0.0)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
    top5 = np.mean([labels[i] in np.argsort(-scores[i])[:5] for i in range(len(labels))])
    return {
        "top1": float((pred == labels).mean() * 100),
        "top5": float(top5 * 100),
        "mean_class_acc": float(recall[present].mean() * 100),
        "macro_precision": float(precision[present].mean() * 100),
        "macro_recall": float(recall[present].mean() * 100),
        "macro_f1": float(f1[present].mean() * 100),
        "per_class_acc": [float(r * 100) if p else None for r, p in zip(recall, present)],
        "confusion": confusion.tolist(),
        "class_support": support.tolist(),
    }


def scores_for(labels, correct, num_classes, seed=0):
    """Softmax-like scores whose argmax is the label where ``correct`` else another class."""
    rng = np.random.default_rng(seed)
    scores = rng.uniform(0, 0.5, size=(len(labels), num_classes)).astype(np.float32)
    for i, (y, ok) in enumerate(zip(labels, correct)):
        target = y if ok else (y + 1 + rng.integers(num_classes - 1)) % num_classes
        scores[i, target] = 2.0
    return scores / scores.sum(axis=1, keepdims=True)


def make_fake_run(path, name, labels, correct, class_names, arch="slowfast", dataset="meccano",
                  index=None, epochs=3, subsets=None, seed=0, gflops=1.5, views=2):
    labels = np.asarray(labels, dtype=np.int64)
    k = len(class_names)
    index = np.arange(len(labels), dtype=np.int64) if index is None else np.asarray(index, dtype=np.int64)
    scores = scores_for(labels, correct, k, seed)
    os.makedirs(os.path.join(path, "checkpoints"), exist_ok=True)
    np.savez(os.path.join(path, "predictions.npz"), scores=scores, labels=labels, index=index,
             video_id=np.array([f"{i // 10:04d}" for i in index]))
    test = metrics_from_predictions(scores, labels, k)
    results = {
        "run_name": name,
        "model": {"arch": arch, "model_name": {"slowfast": "SlowFast", "mvit": "MViT"}.get(arch, "CNNLSTM"),
                  "params": 1_234_567, "gflops_per_view": gflops, "activations_m": 3.2,
                  "input_shape": [1, 3, 8, 64, 64]},
        "dataset": {"name": dataset, "num_classes": k, "class_names": list(class_names),
                    "test_samples": len(labels), "views_per_sample": views},
        "test": test,
        "subsets": subsets,
        "best": {"epoch": epochs - 1, "metric": "val_top1", "value": 50.0},
        "timing": {"train_wall_s": 95.0, "train_clips_per_s": 41.5, "test_clips_per_s": 120.25},
        "environment": {"device": "cpu", "torch": "2.x", "python": "3.x", "hostname": "h",
                        "world_size": 1, "date": "2025-01-01"},
    }
    with open(os.path.join(path, "results.json"), "w") as f:
        json.dump(results, f)
    with open(os.path.join(path, "json_stats.log"), "w") as f:
        for e in range(1, epochs + 1):
            f.write(json.dumps({"_type": "train_iter", "epoch": e, "iter": 1, "loss": 3.0 / e, "lr": 0.1}) + "\n")
            f.write(json.dumps({"_type": "train_epoch", "epoch": e, "loss": 2.5 / e + seed * 0.1, "lr": 0.1,
                                "top1": 20.0 * e}) + "\n")
            f.write(json.dumps({"_type": "val_epoch", "epoch": e, "loss": 2.0 / e, "top1": 80.0 * e / (e + 2) + seed,
                                "top5": 60.0}) + "\n")
        f.write(json.dumps({"_type": "test", "top1": test["top1"], "top5": test["top5"]}) + "\n")
    with open(os.path.join(path, "config.yaml"), "w") as f:
        f.write(f"MODEL:\n  ARCH: {arch}\n")
    return results
