"""The report's figures, rendered off-screen to PNG bytes (no pyplot global state).

Each run keeps one colour in every figure so a reader can follow it across plots.
"""
import io

import numpy as np
from matplotlib.figure import Figure

_DPI = 110


def run_colours(names):
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    return {name: palette[i % len(palette)] for i, name in enumerate(names)}


def _png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight")
    return buf.getvalue()


def curves_png(curves, colours):
    """Training loss and validation top-1 per epoch, all runs overlaid; None without data."""
    if not any(c["train_loss"] or c["val_top1"] for c in curves.values()):
        return None
    fig = Figure(figsize=(11, 3.8))
    ax_loss, ax_acc = fig.subplots(1, 2)
    for name, c in curves.items():
        for ax, key in ((ax_loss, "train_loss"), (ax_acc, "val_top1")):
            if c[key]:
                x, y = zip(*c[key])
                ax.plot(x, y, marker="o", ms=3, lw=1.6, color=colours[name], label=name)
    ax_loss.set(title="Training loss per epoch", xlabel="epoch", ylabel="loss")
    ax_acc.set(title="Validation top-1 per epoch", xlabel="epoch", ylabel="top-1 (%)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    handles, labels = ax_loss.get_legend_handles_labels()
    for h, label in zip(*ax_acc.get_legend_handles_labels()):
        if label not in labels:
            handles.append(h)
            labels.append(label)
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), frameon=False,
               bbox_to_anchor=(0.5, -0.08))
    return _png(fig)


def cost_png(rows, colours):
    """Test top-1 against compute per test sample (GFLOPs per view x views)."""
    runs = [r for r in rows if not r["reference"] and r.get("gflops_per_view")]
    if not runs:
        return None
    fig = Figure(figsize=(6.5, 4))
    ax = fig.subplots()
    for r in runs:
        cost = r["gflops_per_view"] * r["views"]
        ax.scatter([cost], [r["top1"]], s=70, color=colours[r["run"]], zorder=3)
        ax.annotate(r["run"], (cost, r["top1"]), textcoords="offset points", xytext=(7, 4), fontsize=9)
    ax.set_xscale("log")
    ax.set(title="Accuracy against test cost (higher and further left is better)",
           xlabel="GFLOPs per test sample (per view x views, log scale)", ylabel="test top-1 (%)")
    ax.title.set_fontsize(10)
    ax.grid(alpha=0.3)
    ax.margins(x=0.3, y=0.15)
    return _png(fig)


def per_class_png(group, colours):
    """Dot plot: one row per class (most frequent on top), one marker per run on that row.

    Markers on a shared row stay readable for dozens of classes and several runs, where
    grouped bars grow too tall to compare; the grey bar spans the runs' spread.
    """
    classes = [c for c in group["classes"] if c["support"] > 0]
    if not classes:
        return None
    runs = group["runs"]
    markers = "osD^vP"
    fig = Figure(figsize=(9, 1.3 + 0.24 * len(classes)))
    ax = fig.subplots()
    y = np.arange(len(classes))
    for i, c in enumerate(classes):
        acc = [a for a in c["acc"] if a is not None]
        if len(acc) > 1:
            ax.plot([min(acc), max(acc)], [i, i], color="#c8ccd4", lw=5, solid_capstyle="round", zorder=1)
    dodge = 0.5 / len(runs)  # runs with equal accuracy stay visible side by side
    for j, name in enumerate(runs):
        acc = [c["acc"][j] for c in classes]
        ax.scatter(acc, y + (j - (len(runs) - 1) / 2) * dodge, s=30, color=colours[name], marker=markers[j % len(markers)], label=name, zorder=3,
                   edgecolors="white", linewidths=0.5)
    ax.set_yticks(y, [f"{c['name']} (n={c['support']})" for c in classes], fontsize=8)
    ax.set_ylim(len(classes) - 0.5, -0.5)
    ax.set_xlim(-3, 103)
    ax.set_xlabel("test accuracy of the class (%)")
    ax.set_title("Per-class accuracy, classes ordered by test frequency")
    ax.grid(axis="x", alpha=0.3)
    ax.grid(axis="y", alpha=0.12)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.6 / (1.3 + 0.24 * len(classes))),
              ncol=min(4, len(runs)), fontsize=9, frameon=False)
    return _png(fig)


def confusion_png(title, class_names, normalised):
    """Row-normalised confusion matrix with class names; with few classes the cells carry
    their percentages (and the figure is small enough to sit beside the other runs')."""
    m = np.asarray(normalised)
    k = len(class_names)
    annotate = k <= 15
    side = max(3.2, 1.2 + 0.3 * k) if annotate else min(11.0, 3.0 + 0.13 * k)
    font = 8 if k <= 30 else 6.5
    fig = Figure(figsize=(side + (0 if annotate else 1.2), side))
    ax = fig.subplots()
    im = ax.imshow(m * 100, cmap="Blues", vmin=0, vmax=100)
    ax.set_xticks(range(k), class_names, rotation=90, fontsize=font)
    ax.set_yticks(range(k), class_names, fontsize=font)
    ax.set(xlabel="predicted class", ylabel="true class")
    ax.set_title(title, fontsize=10)
    if annotate:
        for i in range(k):
            for j in range(k):
                if m[i, j] >= 0.005:
                    ax.text(j, i, f"{m[i, j] * 100:.0f}", ha="center", va="center", fontsize=7,
                            color="white" if m[i, j] > 0.55 else "black")
    if not annotate:  # annotated cells already say the percentage
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="% of the true class")
    return _png(fig)
