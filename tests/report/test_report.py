"""The comparison report built from fake run directories that follow the engine's contract."""
import base64
import json
import os
import re

import numpy as np
import pytest

from slowfast.report import ReportError, build_report
from slowfast.report.significance import mcnemar_exact
from tests.report.fakerun import make_fake_run

CLASSES = ["take_screw", "check_booklet", "put_wheel", "screw_screw", "take_wrench", "plug_rod"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    rng = np.random.default_rng(0)
    labels = rng.choice(len(CLASSES), size=60, p=[0.3, 0.25, 0.2, 0.15, 0.1, 0.0])
    correct_a = rng.random(60) < 0.7
    correct_b = rng.random(60) < 0.4
    subsets = {"fraction": 0.5, "seed": 1, "per_subset": [{"top1": 70.0, "macro_recall": 60.0, "n": 30},
                                                          {"top1": 66.0, "macro_recall": 58.0, "n": 30}],
               "top1_mean": 68.0, "top1_std": 2.83, "recall_mean": 59.0, "recall_std": 1.41}
    dirs = {
        "a": str(root / "slowfast_run"),
        "b": str(root / "mvit_run"),
        "c": str(root / "lstm_other_samples"),
    }
    res = {
        "a": make_fake_run(dirs["a"], "slowfast-tiny", labels, correct_a, CLASSES, subsets=subsets, seed=0),
        "b": make_fake_run(dirs["b"], "mvit-tiny", labels, correct_b, CLASSES, arch="mvit", seed=1, gflops=0.4),
        "c": make_fake_run(dirs["c"], "lstm-tiny", labels[:50], correct_a[:50], CLASSES, arch="cnn_lstm",
                           index=np.arange(100, 150), seed=2, gflops=0.1, views=1),
    }
    out = str(root / "report")
    data = build_report([dirs["a"], dirs["b"], dirs["c"]], out, n_resamples=500, seed=0)
    return dict(dirs=dirs, res=res, out=out, data=data, correct=(correct_a, correct_b))


def test_summary_rows_equal_results_json(runs):
    rows = runs["data"]["summary"]
    ours = [r for r in rows if not r["reference"]]
    assert [r["run"] for r in ours] == ["slowfast-tiny", "mvit-tiny", "lstm-tiny"]
    for row, key in zip(ours, "abc"):
        res = runs["res"][key]
        for metric in ("top1", "top5", "mean_class_acc", "macro_precision", "macro_recall", "macro_f1"):
            assert row[metric] == res["test"][metric]
        assert row["params"] == res["model"]["params"]
        assert row["gflops_per_view"] == res["model"]["gflops_per_view"]
        assert row["views"] == res["dataset"]["views_per_sample"]
        assert row["best_epoch"] == res["best"]["epoch"]
        assert row["train_clips_per_s"] == res["timing"]["train_clips_per_s"]
        assert row["device"] == "cpu"
    with open(os.path.join(runs["out"], "report.json")) as f:
        assert json.load(f)["summary"] == rows


def test_published_rows_only_for_the_61_class_meccano_protocol(tmp_path):
    labels = np.arange(61).repeat(2)
    names = [f"action_{k}" for k in range(61)]
    make_fake_run(str(tmp_path / "real"), "real", labels, labels % 3 > 0, names, dataset="meccano")
    data = build_report([str(tmp_path / "real"), runs_dir_of_8_classes(tmp_path)], str(tmp_path / "out"),
                        n_resamples=50)
    refs = [r for r in data["summary"] if r["reference"]]
    assert [r["model"] for r in refs] == ["C2D", "I3D", "SlowFast"]
    assert (refs[2]["top1"], refs[2]["top5"], refs[2]["macro_f1"]) == (42.85, 72.47, 41.05)
    md = open(tmp_path / "out" / "report.md").read()
    assert "| _SlowFast (published)_ | SlowFast | meccano |" in md
    assert "WACV 2021, Table 3" in md


def runs_dir_of_8_classes(tmp_path):
    """A MECCANO-format run on 8 classes (like the synthetic demo data): no published rows."""
    path = str(tmp_path / "synthetic")
    make_fake_run(path, "synthetic", [0, 1, 2, 3, 4, 5, 6, 7], [True] * 8, [f"c{k}" for k in range(8)],
                  dataset="meccano")
    return path


def test_markdown_table_shows_each_run(runs):
    md = open(os.path.join(runs["out"], "report.md")).read()
    for key, name in zip("abc", ["slowfast-tiny", "mvit-tiny", "lstm-tiny"]):
        res = runs["res"][key]
        line = next(l for l in md.splitlines() if l.startswith(f"| {name} |"))
        cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
        assert cells[5] == f"{res['test']['top1']:.2f}"
        assert cells[10] == f"{res['test']['macro_f1']:.2f}"
        assert cells[4] == f"{res['model']['gflops_per_view']:.3g} × {res['dataset']['views_per_sample']}"
    assert "(published)" not in md  # six classes: not the published MECCANO protocol


def test_every_plot_is_written_and_embedded(runs):
    data, out = runs["data"], runs["out"]
    expected = {"curves.png", "cost.png", "per_class.png", "confusion_slowfast-tiny.png",
                "confusion_mvit-tiny.png", "confusion_lstm-tiny.png"}
    assert set(data["plots"]) == expected
    html = open(os.path.join(out, "report.html")).read()
    md = open(os.path.join(out, "report.md")).read()
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    files = {name: open(os.path.join(out, rel), "rb").read() for name, rel in data["plots"].items()}
    assert sorted(base64.b64decode(e) for e in embedded) == sorted(files.values())
    assert all(png.startswith(b"\x89PNG") for png in files.values())
    for rel in data["plots"].values():
        assert f"]({rel})" in md
    # Self-contained: no scripts, stylesheets or images fetched from anywhere.
    assert not re.search(r"<script|<link|src=\"(?!data:)|url\(", html)


def test_pairwise_only_for_runs_on_the_same_samples(runs):
    pairs = {(p["run_a"], p["run_b"]): p for p in runs["data"]["pairwise"]}
    ab = pairs[("slowfast-tiny", "mvit-tiny")]
    ca, cb = runs["correct"]
    assert ab["n"] == 60
    assert ab["mcnemar"] == mcnemar_exact(ca, cb)
    assert ab["bootstrap"]["diff"] == pytest.approx((ca.mean() - cb.mean()) * 100)
    assert ab["bootstrap"]["ci_low"] <= ab["bootstrap"]["diff"] <= ab["bootstrap"]["ci_high"]
    assert ab["top1_a"] == pytest.approx(runs["res"]["a"]["test"]["top1"])
    assert pairs[("slowfast-tiny", "lstm-tiny")]["skipped"] == "different test samples"
    md = open(os.path.join(runs["out"], "report.md")).read()
    assert "slowfast-tiny vs lstm-tiny: not compared (different test samples)" in md
    assert f"{ab['mcnemar']['p_value']:.3g}" in md


def test_per_class_ordered_by_frequency_and_subsets(runs):
    group = runs["data"]["per_class"][0]
    supports = [c["support"] for c in group["classes"]]
    assert supports == sorted(supports, reverse=True)
    absent = next(c for c in group["classes"] if c["name"] == "plug_rod")
    assert absent["support"] == 0 and absent["acc"] == [None, None, None]
    first = group["classes"][0]
    assert first["acc"][0] == runs["res"]["a"]["test"]["per_class_acc"][first["class_id"]]
    assert [s["run"] for s in runs["data"]["subsets"]] == ["slowfast-tiny"]
    md = open(os.path.join(runs["out"], "report.md")).read()
    assert "68.00 ± 2.83" in md and "59.00 ± 1.41" in md


def test_confusion_rows_are_normalised(runs):
    cm = np.array(runs["data"]["confusion"]["mvit-tiny"]["normalised"])
    counts = np.array(runs["res"]["b"]["test"]["confusion"])
    for i, row in enumerate(cm):
        assert row.sum() == pytest.approx(1.0 if counts[i].sum() else 0.0)


def test_no_published_rows_for_other_datasets(tmp_path):
    make_fake_run(str(tmp_path / "r"), "kin", [0, 1, 2, 0], [True, False, True, True], ["a", "b", "c"],
                  dataset="kinetics")
    data = build_report([str(tmp_path / "r")], str(tmp_path / "out"), n_resamples=50)
    assert [r["reference"] for r in data["summary"]] == [False]
    assert data["pairwise"] == []


def test_bad_run_directories_name_the_file(tmp_path):
    with pytest.raises(ReportError, match="results.json: missing"):
        build_report([str(tmp_path)], str(tmp_path / "out"))
    run = str(tmp_path / "r")
    make_fake_run(run, "r", [0, 1], [True, True], ["a", "b"])
    with open(os.path.join(run, "json_stats.log"), "a") as f:
        f.write("{not json\n")
    with pytest.raises(ReportError, match=r"json_stats.log, line \d+: not valid JSON"):
        build_report([run], str(tmp_path / "out"))
    os.remove(os.path.join(run, "json_stats.log"))
    res = json.load(open(os.path.join(run, "results.json")))
    del res["test"]["macro_f1"]
    json.dump(res, open(os.path.join(run, "results.json"), "w"))
    with pytest.raises(ReportError, match="results.json: missing key test.macro_f1"):
        build_report([run], str(tmp_path / "out"))


def test_cli_writes_report_and_fails_cleanly(tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "compare_runs", os.path.join(os.path.dirname(__file__), "..", "..", "tools", "compare_runs.py"))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    run = str(tmp_path / "r")
    make_fake_run(run, "r", [0, 1, 1], [True, False, True], ["a", "b"])
    assert cli.main([run, "--out", str(tmp_path / "rep"), "--resamples", "50"]) == 0
    assert capsys.readouterr().out.strip().endswith("report.html")
    assert os.path.isfile(tmp_path / "rep" / "report.json")
    assert cli.main([str(tmp_path / "nothing"), "--out", str(tmp_path / "rep2")]) == 2
    assert "not a directory" in capsys.readouterr().err
