"""tools/prepare_meccano.py and `benchmark.py loader` on tiny data."""
import json
import os

import simplejpeg

from slowfast.datasets import build_dataset
from tests.datasets.helpers import meccano_cfg
from tools.benchmark import main as benchmark_main
from tools.prepare_meccano import main as prepare_main


def test_prepare_meccano_resizes_mirrors_and_resumes(tiny_meccano, tmp_path, capsys):
    src, dst = tiny_meccano / "frames", tmp_path / "small"
    assert prepare_main(["--src", str(src), "--dst", str(dst), "--short-side", "24", "--workers", "2"]) == 0
    for video in os.listdir(src):
        assert sorted(os.listdir(src / video)) == sorted(n for n in os.listdir(dst / video) if n.endswith(".jpg"))
    height, width, _, _ = simplejpeg.decode_jpeg_header((dst / "0002" / "00003.jpg").read_bytes())
    assert (width, height) == (32, 24)
    capsys.readouterr()
    # Interrupted run: one video lost its marker and half its frames; only that video is redone.
    os.remove(dst / "0003" / ".prepared")
    names = sorted(os.listdir(dst / "0003"))
    for name in names[: len(names) // 2]:
        os.remove(dst / "0003" / name)
    before = os.path.getmtime(dst / "0003" / names[-1])
    assert prepare_main(["--src", str(src), "--dst", str(dst), "--short-side", "24", "--workers", "1"]) == 0
    assert "1 folders written" in capsys.readouterr().out and (dst / "0003" / ".prepared").exists()
    assert os.path.getmtime(dst / "0003" / names[-1]) == before
    assert set(os.listdir(dst / "0003")) == set(os.listdir(src / "0003")) | {".prepared"}
    # The loader reads the prepared copy unchanged (same layout, same names).
    (tmp_path / "prepared").mkdir()
    os.symlink(dst, tmp_path / "prepared" / "frames")
    cfg = meccano_cfg(tiny_meccano, "DATA.PATH_TO_DATA_DIR", str(tmp_path / "prepared"),
                      "DATA.TRAIN_JITTER_SCALES", "[24, 24]", "DATA.TRAIN_CROP_SIZE", "24")
    assert build_dataset(cfg, "train")[0][0].shape == (3, 4, 24, 24)


def test_loader_benchmark_reports_all_figures(tiny_meccano, tmp_path, capsys):
    cfg_file = tmp_path / "tiny.yaml"
    cfg_file.write_text("DATA:\n  NUM_FRAMES: 4\n  SAMPLING_METHOD: segment_uniform\n"
                        "  TRAIN_JITTER_SCALES: [32, 40]\n  TRAIN_CROP_SIZE: 32\n")
    args = ["loader", "--cfg", str(cfg_file), "--json", "--workers", "1", "--batch-size", "2", "--clips", "4", "--rounds", "2",
            "--naive-clips", "2", "--data", str(tiny_meccano), "DATA.PATH_TO_ANNOTATIONS",
            str(tiny_meccano / "annotations"), "MODEL.NUM_CLASSES", "4"]
    assert benchmark_main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["frame_size"] == [64, 48] and result["num_frames"] == 4 and len(result["rounds"]) == 2
    for key in ("loader_clips_per_s", "ceiling_reduced_clips_per_s", "ceiling_full_clips_per_s",
                "naive_clips_per_s", "decode_full_img_per_s", "decode_reduced_img_per_s",
                "ceiling_reduced_cpu_ms_per_clip", "naive_cpu_ms_per_clip"):
        assert result[key] > 0, key
    assert result["loader_cpu_ms_per_clip"] >= 0  # tiny clips may all come from the prefetch queue
    assert 1 <= result["distinct_frames_per_clip"] <= 4
    for r in result["rounds"]:
        assert r["loader_vs_naive"] == r["loader_clips_per_s"] / r["naive_clips_per_s"]
    assert min(r["loader_vs_naive"] for r in result["rounds"]) <= result["loader_vs_naive"]
