"""Read one run directory, as the engine writes it, with errors that name the file.

The report depends on these files only (results.json, json_stats.log,
predictions.npz), never on the code or the data that produced them, so runs made
on other machines or by older versions can be compared.
"""
import json
import os
from dataclasses import dataclass, field

import numpy as np


class ReportError(ValueError):
    """A run directory that cannot be reported on; the message names the file and key."""


# Keys of results.json the report reads; a missing one is an error naming it.
REQUIRED_RESULTS = {
    "model": ["arch", "params", "gflops_per_view"],
    "dataset": ["name", "num_classes", "class_names", "test_samples", "views_per_sample"],
    "test": [
        "top1", "top5", "mean_class_acc", "macro_precision", "macro_recall", "macro_f1",
        "per_class_acc", "confusion", "class_support",
    ],
}


@dataclass
class Run:
    path: str
    name: str
    results: dict
    # json_stats.log records, in file order.
    stats: list = field(default_factory=list)
    # predictions.npz as a dict of arrays, or None when the file is absent.
    predictions: dict = None


def _read_results(path):
    file = os.path.join(path, "results.json")
    if not os.path.isfile(file):
        raise ReportError(f"{file}: missing (has this run finished its test?)")
    try:
        with open(file) as f:
            results = json.load(f)
    except json.JSONDecodeError as e:
        raise ReportError(f"{file}: not valid JSON ({e})") from e
    for section, keys in REQUIRED_RESULTS.items():
        if not isinstance(results.get(section), dict):
            raise ReportError(f"{file}: missing section {section!r}")
        for key in keys:
            if key not in results[section]:
                raise ReportError(f"{file}: missing key {section}.{key}")
    k = results["dataset"]["num_classes"]
    test = results["test"]
    if len(results["dataset"]["class_names"]) != k:
        raise ReportError(f"{file}: dataset.class_names has {len(results['dataset']['class_names'])} names, num_classes is {k}")
    if np.asarray(test["confusion"]).shape != (k, k):
        raise ReportError(f"{file}: test.confusion is not {k}x{k}")
    for key in ("per_class_acc", "class_support"):
        if len(test[key]) != k:
            raise ReportError(f"{file}: test.{key} has {len(test[key])} entries, expected {k}")
    return results


def _read_stats(path):
    file = os.path.join(path, "json_stats.log")
    if not os.path.isfile(file):
        return []
    records = []
    with open(file) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise ReportError(f"{file}, line {lineno}: not valid JSON ({e})") from e
            if not isinstance(record, dict) or "_type" not in record:
                raise ReportError(f"{file}, line {lineno}: expected an object with a '_type' key")
            records.append(record)
    return records


def _read_predictions(path, num_classes):
    file = os.path.join(path, "predictions.npz")
    if not os.path.isfile(file):
        return None
    try:
        with np.load(file, allow_pickle=False) as npz:
            pred = {key: npz[key] for key in npz.files}
    except ValueError as e:
        raise ReportError(f"{file}: cannot be read without pickle ({e})") from e
    for key in ("scores", "labels", "index"):
        if key not in pred:
            raise ReportError(f"{file}: missing array {key!r}")
    n = len(pred["index"])
    if pred["scores"].shape != (n, num_classes) or pred["labels"].shape != (n,):
        raise ReportError(
            f"{file}: scores {pred['scores'].shape} / labels {pred['labels'].shape} do not match "
            f"{n} samples x {num_classes} classes"
        )
    if len(np.unique(pred["index"])) != n:
        raise ReportError(f"{file}: sample ids in 'index' are not unique")
    return pred


def load_run(path):
    """Load ``path`` into a :class:`Run`; only results.json is mandatory."""
    if not os.path.isdir(path):
        raise ReportError(f"{path}: not a directory")
    results = _read_results(path)
    name = results.get("run_name") or os.path.basename(os.path.normpath(path))
    return Run(
        path=path,
        name=str(name),
        results=results,
        stats=_read_stats(path),
        predictions=_read_predictions(path, results["dataset"]["num_classes"]),
    )


def load_runs(paths):
    """Load every run; repeated names get their directory appended so rows stay distinct."""
    runs = [load_run(p) for p in paths]
    names = [r.name for r in runs]
    for run in runs:
        if names.count(run.name) > 1:
            run.name = f"{run.name} ({os.path.normpath(run.path)})"
    return runs
