"""Matplotlib figures for TensorBoard: confusion matrix and per-class accuracy."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def confusion_figure(confusion, class_names, figsize):
    """Row-normalised confusion matrix (rows = true class)."""
    cm = np.asarray(confusion, dtype=np.float64)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    fig, ax = plt.subplots(figsize=figsize)
    ax.imshow(norm, cmap="Blues", vmin=0.0, vmax=1.0)
    ticks = np.arange(len(class_names))
    small = len(class_names) <= 30
    ax.set_xticks(ticks if small else [])
    ax.set_yticks(ticks if small else [])
    if small:
        ax.set_xticklabels(class_names, rotation=90, fontsize=6)
        ax.set_yticklabels(class_names, fontsize=6)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.tight_layout()
    return fig


def per_class_figure(per_class_acc, class_names):
    """Bar chart of per-class accuracy; classes absent from the split are left blank."""
    values = [np.nan if v is None else v for v in per_class_acc]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.15 * len(values)), 3.5))
    ax.bar(np.arange(len(values)), values, color="tab:blue")
    ax.set_ylim(0, 100)
    ax.set_ylabel("accuracy (%)")
    if len(class_names) <= 30:
        ax.set_xticks(np.arange(len(class_names)))
        ax.set_xticklabels(class_names, rotation=90, fontsize=6)
    fig.tight_layout()
    return fig
