"""tools/demo.py --quick: three real (tiny) runs through the engine and the report built from them."""
import base64
import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "demo.py"), "--quick",
         "--data", str(root / "data"), "--out", str(root / "runs")],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return root, proc.stdout


def test_last_line_is_the_report_and_it_is_complete(demo):
    root, out = demo
    last = out.strip().splitlines()[-1]
    report = str(root / "runs" / "report" / "report.html")
    assert last == f"Report: {report}"
    for name in ("report.html", "report.md", "report.json"):
        assert os.path.getsize(root / "runs" / "report" / name) > 0


def test_report_table_equals_each_runs_results(demo):
    root, _ = demo
    data = json.load(open(root / "runs" / "report" / "report.json"))
    ours = [r for r in data["summary"] if not r["reference"]]
    assert [r["arch"] for r in ours] == ["slowfast", "mvit", "cnn_lstm"]
    for row, run in zip(ours, ("slowfast_tiny", "mvitv2_tiny", "mobilenetv2_lstm_tiny")):
        res = json.load(open(root / "runs" / run / "results.json"))
        assert row["run"] == res["run_name"]
        for key in ("top1", "top5", "mean_class_acc", "macro_precision", "macro_recall", "macro_f1"):
            assert row[key] == res["test"][key]
        assert (row["params"], row["gflops_per_view"]) == (res["model"]["params"], res["model"]["gflops_per_view"])
        assert row["views"] == res["dataset"]["views_per_sample"] == 1
        assert row["train_clips_per_s"] == res["timing"]["train_clips_per_s"]
    # MECCANO format but 8 synthetic classes: the published 61-class numbers do not apply.
    assert not any(r["reference"] for r in data["summary"])
    # All three runs tested the same samples, so every pair is compared.
    assert len(data["pairwise"]) == 3 and all("mcnemar" in p for p in data["pairwise"])


def test_every_plot_exists_and_is_embedded(demo):
    root, _ = demo
    report = root / "runs" / "report"
    data = json.load(open(report / "report.json"))
    assert {"curves.png", "cost.png", "per_class.png"} <= set(data["plots"])
    assert sum(name.startswith("confusion_") for name in data["plots"]) == 3
    html = open(report / "report.html").read()
    embedded = {base64.b64decode(b) for b in re.findall(r'src="data:image/png;base64,([^"]+)"', html)}
    for rel in data["plots"].values():
        assert open(report / rel, "rb").read() in embedded


def test_rerun_reuses_finished_runs_and_replaces_stale_ones(demo):
    root, _ = demo
    runs = root / "runs"
    stale = runs / "mobilenetv2_lstm_tiny"
    (stale / "config.yaml").write_text((stale / "config.yaml").read_text().replace("RNG_SEED: 0", "RNG_SEED: 5"))
    before = json.load(open(runs / "slowfast_tiny" / "results.json"))
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "demo.py"), "--quick",
         "--data", str(root / "data"), "--out", str(runs)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.count("Reusing the finished run") == 2
    assert f"{stale} was made with another config: deleting it" in proc.stdout
    assert "RNG_SEED: 0" in (stale / "config.yaml").read_text()
    assert (stale / "results.json").is_file()
    assert json.load(open(runs / "slowfast_tiny" / "results.json")) == before
