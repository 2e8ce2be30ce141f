"""Compare finished runs: read their run directories, write report.md/.html/.json."""
import datetime
import json
import os
import re

from slowfast.report import analysis, plots
from slowfast.report.document import build_document
from slowfast.report.render import to_html, to_markdown
from slowfast.report.rundir import ReportError, load_runs
from slowfast.utils.io import atomic_path, write_text_atomic

PLOT_DIR = "plots"


def _slug(name):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "run"


def _figures(data, runs):
    """{file name: (alt text, PNG bytes)} for every figure that has data."""
    colours = plots.run_colours([r.name for r in runs])
    figs = {}
    png = plots.curves_png(data["curves"], colours)
    if png:
        figs["curves.png"] = ("Training loss and validation top-1 per epoch", png)
    png = plots.cost_png(data["summary"], colours)
    if png:
        figs["cost.png"] = ("Test top-1 against GFLOPs per test sample", png)
    for i, group in enumerate(data["per_class"]):
        png = plots.per_class_png(group, colours)
        if png:
            suffix = "" if len(data["per_class"]) == 1 else f"_{i + 1}_{_slug(group['dataset'])}"
            figs[f"per_class{suffix}.png"] = (f"Per-class test accuracy ({group['dataset']})", png)
    for name, cm in data["confusion"].items():
        title = f"{name}: confusion matrix, rows normalised"
        figs[f"confusion_{_slug(name)}.png"] = (title, plots.confusion_png(title, cm["class_names"], cm["normalised"]))
    return figs


def build_report(run_dirs, out_dir, n_resamples=2000, seed=0):
    """Write the report for ``run_dirs`` into ``out_dir``; return the report.json content."""
    if not run_dirs:
        raise ReportError("no run directories given")
    runs = load_runs(run_dirs)
    data = {
        "generated": datetime.datetime.now().isoformat(timespec="seconds"),
        "run_dirs": [os.path.abspath(r.path) for r in runs],
        "summary": analysis.summary(runs),
        "curves": analysis.curves(runs),
        "per_class": analysis.per_class(runs),
        "pairwise": analysis.pairwise(runs, n_resamples=n_resamples, seed=seed),
        "subsets": analysis.subsets(runs),
        "confusion": analysis.confusions(runs),
        "top_confusions": analysis.top_confusions(runs),
        "baseline": analysis.baseline(runs),
    }
    figs = _figures(data, runs)
    data["plots"] = {name: f"{PLOT_DIR}/{name}" for name in figs}

    os.makedirs(os.path.join(out_dir, PLOT_DIR), exist_ok=True)
    for name, (_, png) in figs.items():
        with atomic_path(os.path.join(out_dir, PLOT_DIR, name)) as tmp:
            with open(tmp, "wb") as f:
                f.write(png)
    sections = build_document(data, {name: alt for name, (alt, _) in figs.items()})
    title = "Run comparison"
    subtitle = f"{len(runs)} run(s): {', '.join(r.name for r in runs)}. Generated {data['generated']}."
    write_text_atomic(os.path.join(out_dir, "report.md"), to_markdown(title, subtitle, sections, PLOT_DIR))
    write_text_atomic(os.path.join(out_dir, "report.html"),
                      to_html(title, subtitle, sections, {name: png for name, (_, png) in figs.items()}))
    write_text_atomic(os.path.join(out_dir, "report.json"), json.dumps(data, indent=1) + "\n")
    return data
