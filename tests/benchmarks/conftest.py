"""Tiny MECCANO-format frames for the benchmark and GPU-decode tests, generated once per session."""
import pytest

from slowfast.datasets.synthetic import make_meccano_like


@pytest.fixture(scope="session")
def frames_dir(tmp_path_factory):
    """4 classes, 5 recordings at 160x120 (large enough for reduced-size decoding of 32 px crops)."""
    out = tmp_path_factory.mktemp("bench_frames")
    make_meccano_like(str(out), classes=4, videos=5, size=(160, 120), seed=4, segments_per_video=4,
                      segment_frames=(6, 12))
    return out
