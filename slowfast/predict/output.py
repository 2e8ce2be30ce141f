"""Save window predictions as JSON (everything) or CSV (one row per window and rank)."""
import csv
import json
import os

from slowfast.utils.io import atomic_path

CSV_COLUMNS = ["window", "start_frame", "end_frame", "start_s", "end_s", "rank", "class_id", "class_name", "score"]


def write_predictions(result, path):
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".json", ".csv"):
        raise ValueError(f"--out {path}: use a .json or .csv file name")
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            if ext == ".json":
                json.dump(result, f, indent=1)
                f.write("\n")
            else:
                writer = csv.writer(f)
                writer.writerow(CSV_COLUMNS)
                for w in result["windows"]:
                    for t in w["topk"]:
                        writer.writerow([w["window"], w["start_frame"], w["end_frame"], w["start_s"], w["end_s"],
                                         t["rank"], t["class_id"], t["class_name"], f"{t['score']:.6f}"])


def summary_lines(result):
    """One human-readable line per window: time range and the top labels."""
    lines = []
    for w in result["windows"]:
        labels = ", ".join(f"{t['class_name']} {t['score']:.2f}" for t in w["topk"][:3])
        lines.append(f"{w['start_s']:8.2f}-{w['end_s']:<8.2f} {labels}")
    return lines
