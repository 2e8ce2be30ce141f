"""Turn loaded runs into the report's numbers (plain JSON-ready values, no formatting)."""
import itertools

import numpy as np

from slowfast.report.published import reference_rows
from slowfast.report.significance import mcnemar_exact, paired_bootstrap

METRICS = ("top1", "top5", "mean_class_acc", "macro_precision", "macro_recall", "macro_f1")


def summary(runs):
    """One row per run, then the published reference rows for the datasets present."""
    rows = []
    for run in runs:
        res = run.results
        model, data, test = res["model"], res["dataset"], res["test"]
        best, timing, env = res.get("best") or {}, res.get("timing") or {}, res.get("environment") or {}
        rows.append({
            "run": run.name,
            "reference": False,
            "model": model.get("model_name") or model["arch"],
            "arch": model["arch"],
            "dataset": data["name"],
            "params": model["params"],
            "gflops_per_view": model["gflops_per_view"],
            "views": data["views_per_sample"],
            **{m: test[m] for m in METRICS},
            "best_epoch": best.get("epoch"),
            "best_metric": best.get("metric"),
            "best_value": best.get("value"),
            "train_wall_s": timing.get("train_wall_s"),
            "train_clips_per_s": timing.get("train_clips_per_s"),
            "test_clips_per_s": timing.get("test_clips_per_s"),
            "device": env.get("device"),
        })
    seen = []
    for run in runs:
        name, k = run.results["dataset"]["name"], run.results["dataset"]["num_classes"]
        if (name, k) in seen:
            continue
        seen.append((name, k))
        for ref in reference_rows(name, k):
            rows.append({
                "run": f"{ref['model']} (published)",
                "reference": True,
                "model": ref["model"],
                "dataset": name,
                "source": ref["source"],
                **{m: ref.get(m) for m in METRICS},
            })
    return rows


def _per_epoch(records, kind, key):
    """[(epoch, value)] for records of ``kind``; a resumed run's later record of an epoch wins."""
    by_epoch = {}
    for r in records:
        if r.get("_type") == kind and r.get(key) is not None and r.get("epoch") is not None:
            by_epoch[r["epoch"]] = float(r[key])
    return sorted(by_epoch.items())


def curves(runs):
    return {
        run.name: {
            "train_loss": _per_epoch(run.stats, "train_epoch", "loss"),
            "val_top1": _per_epoch(run.stats, "val_epoch", "top1"),
        }
        for run in runs
    }


def per_class(runs):
    """Per-class accuracy side by side, one group per distinct list of class names.

    Classes are ordered by test frequency (most frequent first); a class absent from
    the test set has accuracy None.
    """
    groups = {}
    for run in runs:
        names = tuple(run.results["dataset"]["class_names"])
        groups.setdefault(names, []).append(run)
    out = []
    for names, members in groups.items():
        support = np.sum([np.asarray(r.results["test"]["class_support"]) for r in members], axis=0)
        order = sorted(range(len(names)), key=lambda k: (-support[k], k))
        out.append({
            "runs": [r.name for r in members],
            "dataset": members[0].results["dataset"]["name"],
            "classes": [
                {
                    "class_id": k,
                    "name": names[k],
                    "support": int(members[0].results["test"]["class_support"][k]),
                    "acc": [r.results["test"]["per_class_acc"][k] for r in members],
                }
                for k in order
            ],
        })
    return out


def _correct_by_index(pred):
    order = np.argsort(pred["index"])
    correct = pred["scores"][order].argmax(axis=1) == pred["labels"][order]
    return pred["index"][order], pred["labels"][order], correct


def pairwise(runs, n_resamples=2000, seed=0):
    """Every pair of runs tested on the same sample ids: top-1 gap, bootstrap CI, McNemar.

    Pairs that cannot be compared are listed with the reason instead.
    """
    out = []
    for a, b in itertools.combinations(runs, 2):
        entry = {"run_a": a.name, "run_b": b.name}
        if a.predictions is None or b.predictions is None:
            missing = a.name if a.predictions is None else b.name
            entry["skipped"] = f"no predictions.npz for {missing}"
        else:
            ia, la, ca = _correct_by_index(a.predictions)
            ib, lb, cb = _correct_by_index(b.predictions)
            if ia.shape != ib.shape or not np.array_equal(ia, ib):
                entry["skipped"] = "different test samples"
            elif not np.array_equal(la, lb):
                entry["skipped"] = "same sample ids but different labels"
            else:
                entry.update(
                    n=int(ia.size),
                    top1_a=float(ca.mean() * 100),
                    top1_b=float(cb.mean() * 100),
                    bootstrap=paired_bootstrap(ca, cb, n_resamples=n_resamples, seed=seed),
                    mcnemar=mcnemar_exact(ca, cb),
                )
        out.append(entry)
    return out


def subsets(runs):
    """The repeated-subset results of the runs that have them (else an empty list)."""
    return [{"run": r.name, **r.results["subsets"]} for r in runs if r.results.get("subsets")]


def confusions(runs):
    """Row-normalised confusion matrices (rows = true class; empty rows stay zero)."""
    out = {}
    for run in runs:
        counts = np.asarray(run.results["test"]["confusion"], dtype=np.float64)
        totals = counts.sum(axis=1, keepdims=True)
        norm = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
        out[run.name] = {"class_names": run.results["dataset"]["class_names"], "normalised": norm.tolist()}
    return out


def top_confusions(runs, n=5):
    """Each run's ``n`` largest off-diagonal confusion counts: the mistakes worth looking at."""
    out = {}
    for run in runs:
        counts = np.asarray(run.results["test"]["confusion"], dtype=np.int64)
        names = run.results["dataset"]["class_names"]
        off = counts.copy()
        np.fill_diagonal(off, 0)
        flat = [(int(off[i, j]), i, j) for i, j in zip(*np.nonzero(off))]
        flat.sort(key=lambda e: (-e[0], e[1], e[2]))
        out[run.name] = [
            {"true": names[i], "predicted": names[j], "count": c, "pct_of_true": 100.0 * c / counts[i].sum()}
            for c, i, j in flat[:n]
        ]
    return out


def baseline(runs):
    """Accuracy of always predicting the most frequent test class (first run's test set)."""
    test = runs[0].results["test"]
    support = np.asarray(test["class_support"])
    if support.sum() == 0:
        return None
    k = int(support.argmax())
    return {"class_name": runs[0].results["dataset"]["class_names"][k],
            "top1": float(support[k] / support.sum() * 100), "chance": 100.0 / len(support)}
