"""Lay the report's numbers out as sections of text, tables and figures.

One document feeds both renderers (Markdown and HTML), so the two files always
say the same thing.
"""

DASH = "—"


def pct(x):
    return DASH if x is None else f"{x:.2f}"


def _params(n):
    if n is None:
        return DASH
    return f"{n / 1e6:.2f} M" if n >= 1e5 else f"{n / 1e3:.1f} k"


def _gflops(row):
    if row.get("gflops_per_view") is None:
        return DASH
    return f"{row['gflops_per_view']:.3g} × {row['views']}"


def _duration(s):
    if s is None:
        return DASH
    if s < 120:
        return f"{s:.0f} s"
    return f"{s / 60:.1f} min" if s < 7200 else f"{s / 3600:.1f} h"


def _rate(x):
    return DASH if x is None else f"{x:.1f}"


def text(s):
    return {"kind": "text", "text": s}


def image(name, alt):
    return {"kind": "image", "name": name, "alt": alt}


def table(headers, rows, row_class=None, bold=(), numeric=()):
    """``bold``: (row, col) cells to emphasise; ``numeric``: right-aligned column indices."""
    return {
        "kind": "table", "headers": headers, "rows": rows,
        "row_class": row_class or [None] * len(rows), "bold": set(bold), "numeric": set(numeric),
    }


SUMMARY_HEADERS = [
    "Run", "Model", "Dataset", "Params", "GFLOPs/view × views", "Top-1", "Top-5", "Mean class acc",
    "Macro P", "Macro R", "Macro F1", "Best epoch", "Train time", "Train clips/s", "Test clips/s", "Device",
]
_METRIC_COLS = {"top1": 5, "top5": 6, "mean_class_acc": 7, "macro_precision": 8, "macro_recall": 9, "macro_f1": 10}


def summary_table(rows):
    cells, classes = [], []
    for r in rows:
        ref = r["reference"]
        cells.append([
            r["run"], r["model"], r["dataset"], _params(r.get("params")), _gflops(r),
            *(pct(r.get(m)) for m in _METRIC_COLS),
            DASH if r.get("best_epoch") is None else str(r["best_epoch"]),
            _duration(r.get("train_wall_s")), _rate(r.get("train_clips_per_s")),
            _rate(r.get("test_clips_per_s")), r.get("device") or DASH,
        ])
        classes.append("reference" if ref else None)
    ours = [i for i, r in enumerate(rows) if not r["reference"]]
    bold = []
    if len(ours) > 1:
        for metric, col in _METRIC_COLS.items():
            values = [rows[i][metric] for i in ours if rows[i][metric] is not None]
            if values:
                best = max(values)
                bold += [(i, col) for i in ours if rows[i][metric] == best]
    return table(SUMMARY_HEADERS, cells, classes, bold, numeric=range(3, 15))


def _verdict(p):
    return "real gap (p < 0.05)" if p < 0.05 else "could be chance"


def pairwise_section(pairs):
    comparable = [p for p in pairs if "skipped" not in p]
    blocks = [text(
        "Pairs of runs tested on the same samples. Difference = top-1 of A minus top-1 of B in "
        "percentage points, with a paired bootstrap 95% interval; McNemar's exact test counts the "
        "samples only one of the two gets right. An interval that excludes 0 and p < 0.05 mean the "
        "gap is unlikely to be chance."
    )]
    if comparable:
        rows = []
        for p in comparable:
            bs, mc = p["bootstrap"], p["mcnemar"]
            rows.append([
                p["run_a"], p["run_b"], str(p["n"]), pct(p["top1_a"]), pct(p["top1_b"]),
                f"{bs['diff']:+.2f}", f"[{bs['ci_low']:+.2f}, {bs['ci_high']:+.2f}]",
                str(mc["only_a"]), str(mc["only_b"]), f"{mc['p_value']:.3g}", _verdict(mc["p_value"]),
            ])
        blocks.append(table(
            ["Run A", "Run B", "Samples", "Top-1 A", "Top-1 B", "A − B (pp)", "95% CI", "Only A right",
             "Only B right", "McNemar p", "Verdict"],
            rows, numeric=range(2, 10),
        ))
        n_res = comparable[0]["bootstrap"]["n_resamples"]
        blocks.append(text(f"Bootstrap: {n_res} resamples of the test samples, seed {comparable[0]['bootstrap']['seed']}."))
    for p in pairs:
        if "skipped" in p:
            blocks.append(text(f"{p['run_a']} vs {p['run_b']}: not compared ({p['skipped']})."))
    if not pairs:
        blocks.append(text("Only one run: nothing to compare."))
    return blocks


def subsets_section(subsets):
    if not subsets:
        return [text("No run has repeated-subset results (TEST.NUM_SUBSETS is 0).")]
    blocks = [text(
        "Test metrics on seeded random subsets of the test samples: the spread shows how much "
        "the numbers depend on which samples happen to be tested."
    )]
    rows = [[
        s["run"], f"{s['fraction']:.2f}", str(s["seed"]), str(len(s["per_subset"])),
        f"{s['top1_mean']:.2f} ± {s['top1_std']:.2f}", f"{s['recall_mean']:.2f} ± {s['recall_std']:.2f}",
    ] for s in subsets]
    blocks.append(table(["Run", "Fraction", "Seed", "Subsets", "Top-1 (mean ± std)", "Macro recall (mean ± std)"],
                        rows, numeric=range(1, 6)))
    depth = max(len(s["per_subset"]) for s in subsets)
    headers = ["Subset"]
    for s in subsets:
        headers += [f"{s['run']} top-1", f"{s['run']} recall", f"{s['run']} n"]
    detail = []
    for i in range(depth):
        row = [str(i + 1)]
        for s in subsets:
            if i < len(s["per_subset"]):
                e = s["per_subset"][i]
                row += [pct(e["top1"]), pct(e["macro_recall"]), str(e["n"])]
            else:
                row += [DASH] * 3
        detail.append(row)
    blocks.append(table(headers, detail, numeric=range(0, len(headers))))
    return blocks


def per_class_tables(groups):
    blocks = []
    for g in groups:
        rows = [[c["name"], str(c["support"]), *(pct(a) for a in c["acc"])] for c in g["classes"]]
        blocks.append(table(["Class", "Test n", *g["runs"]], rows, numeric=range(1, 2 + len(g["runs"]))))
    return blocks


def top_confusions_blocks(top):
    rows = [[run, e["true"], e["predicted"], str(e["count"]), pct(e["pct_of_true"])]
            for run, entries in top.items() for e in entries]
    if not rows:
        return [text("No test sample was misclassified.")]
    return [text("The most frequent mistakes of each run (true class predicted as another class):"),
            table(["Run", "True class", "Predicted as", "Samples", "% of the true class"], rows, numeric=(3, 4))]


def at_a_glance(summary_rows, pairs, baseline=None):
    ours = [r for r in summary_rows if not r["reference"]]
    best = max(ours, key=lambda r: r["top1"])
    lines = [f"Best test top-1: {best['run']} ({best['top1']:.2f}%)."]
    if baseline:
        lines.append(f"Majority-class baseline of the test set: {baseline['top1']:.2f}% "
                     f"(always answering {baseline['class_name']}); uniform chance: {baseline['chance']:.2f}%.")
    costed = [r for r in ours if r.get("gflops_per_view") is not None]
    if len(costed) > 1:
        cheap = min(costed, key=lambda r: r["gflops_per_view"] * r["views"])
        lines.append(f"Cheapest at test time: {cheap['run']} "
                     f"({cheap['gflops_per_view'] * cheap['views']:.3g} GFLOPs per sample, top-1 {cheap['top1']:.2f}%).")
    for p in pairs:
        if "skipped" not in p:
            bs, mc = p["bootstrap"], p["mcnemar"]
            lines.append(f"{p['run_a']} vs {p['run_b']}: {bs['diff']:+.2f} pp "
                         f"[{bs['ci_low']:+.2f}, {bs['ci_high']:+.2f}], McNemar p = {mc['p_value']:.3g}: "
                         f"{_verdict(mc['p_value'])}.")
    return lines


def build_document(data, plots):
    """``data``: the report.json content; ``plots``: {name: alt text} of the figures written."""
    rows = data["summary"]
    sections = [{"title": "At a glance", "blocks": [text(line) for line in at_a_glance(rows, data["pairwise"], data.get("baseline"))]}]

    blocks = [summary_table(rows),
              text("Metrics are test-set percentages after aggregating all views of a sample. "
                   "Bold: best run in the column. GFLOPs are multiply-adds per view (fvcore); "
                   "clips/s are as measured on each run's device.")]
    if any(r["reference"] for r in rows):
        blocks.append(text("Rows marked (published) are reference results copied from the paper "
                           "(MECCANO, WACV 2021, Table 3: Kinetics-pretrained ResNet-50 backbones on the "
                           "real test split); they are not runs of this code."))
    if "cost.png" in plots:
        blocks.append(image("cost.png", plots["cost.png"]))
    sections.append({"title": "Runs", "blocks": blocks})

    curves = [image("curves.png", plots["curves.png"])] if "curves.png" in plots else [
        text("No run has per-epoch records in json_stats.log.")]
    sections.append({"title": "Training curves", "blocks": curves})

    sections.append({"title": "Is the difference real?", "blocks": pairwise_section(data["pairwise"])})

    pc = [image(name, alt) for name, alt in plots.items() if name.startswith("per_class")]
    sections.append({"title": "Per-class accuracy", "blocks": pc + per_class_tables(data["per_class"])})

    cm = [image(name, alt) for name, alt in plots.items() if name.startswith("confusion")]
    sections.append({"title": "Confusion matrices (each row sums to 100%)",
                     "blocks": [{"kind": "gallery", "images": cm}, *top_confusions_blocks(data["top_confusions"])]})

    sections.append({"title": "Repeated test subsets", "blocks": subsets_section(data["subsets"])})
    return sections
