"""Issue 9, row 7: loading a checkpoint never runs pickled code; list paths cannot leave the data folder.

Hostile checkpoints whose unpickling would ``touch`` a marker file are fed to every entry
point that loads weights: TRAIN.CHECKPOINT_FILE_PATH (.pyth and Caffe2 .pkl), a file planted
in OUTPUT_DIR/checkpoints for AUTO_RESUME, TEST.CHECKPOINT_FILE_PATH and the predictor of
tools/predict.py. Each is refused with the file named and the marker never appears.
tests/engine/test_checkpoint.py checks the loader functions themselves.
Annotation rows pointing outside DATA.PATH_TO_DATA_DIR aim at real frames / a real video
placed there, so only the path check stands between the list and the file.
"""
import os
import pickle
import shutil
import subprocess

import numpy as np
import pytest
import torch

from slowfast.datasets import build_dataset
from slowfast.datasets.errors import AnnotationError
from slowfast.datasets.synthetic import write_video
from slowfast.engine.checkpoint import CheckpointError, checkpoint_dir
from slowfast.engine.runner import run
from slowfast.predict import build_predictor
from tests.engine import helpers
from tests.engine.tiny import TinyNet, install
from tests.faults.helpers import meccano_cfg


class _Call:
    """Unpickles as ``func(*args)``."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _payloads(marker):
    """Ways a pickle can run a command when loaded."""
    return {
        "os.system": _Call(os.system, f"touch {marker}"),
        "builtins.eval": _Call(eval, f"__import__('os').system('touch {marker}')"),
        "subprocess.Popen": _Call(subprocess.Popen, ["touch", str(marker)]),
        "builtins.exec": _Call(exec, f"open({str(marker)!r}, 'w').close()"),
    }


def _hostile_pyth(path, payload, zip_format=True):
    """A genuine-looking PySlowFast checkpoint with a payload hidden among its entries."""
    model = TinyNet(3, 0.0)
    state = {"epoch": 0, "model_state": model.state_dict(), "optimizer_state": {"state": {}, "param_groups": []},
             "cfg": "", "best": payload}
    torch.save(state, path, _use_new_zipfile_serialization=zip_format)
    return str(path)


def _hostile_pkl(path, payload):
    with open(path, "wb") as f:
        pickle.dump({"blobs": {"pred_w": payload}}, f, protocol=2)
    return str(path)


def _unsafe_pickle_load(path):
    with open(path, "rb") as f:
        return pickle.load(f)


@pytest.mark.parametrize("payload", ["os.system", "builtins.eval", "subprocess.Popen", "builtins.exec"])
def test_the_payloads_are_live_when_unpickled_unsafely(tmp_path, payload):
    """The control: plain unpickling of these files does run the command."""
    for k, load in enumerate([lambda p: torch.load(p, weights_only=False), _unsafe_pickle_load]):
        marker = tmp_path / f"ran{k}"
        hostile = _payloads(marker)[payload]
        path = _hostile_pyth(tmp_path / "c.pyth", hostile) if k == 0 else _hostile_pkl(tmp_path / "c.pkl", hostile)
        loaded = load(path)
        if payload == "subprocess.Popen":
            (loaded["best"] if k == 0 else loaded["blobs"]["pred_w"]).wait()
        assert marker.exists()


@pytest.mark.parametrize("payload", ["os.system", "builtins.eval", "subprocess.Popen", "builtins.exec"])
def test_hostile_checkpoints_are_refused_at_every_entry_point(tmp_path, monkeypatch, payload):
    install(monkeypatch)
    marker = tmp_path / "pwned"
    hostile = _payloads(marker)[payload]
    pyth = _hostile_pyth(tmp_path / "model.pyth", hostile)
    legacy = _hostile_pyth(tmp_path / "legacy.pyth", hostile, zip_format=False)
    pkl = _hostile_pkl(tmp_path / "model.pkl", hostile)
    cases = [
        (dict(TRAIN__CHECKPOINT_FILE_PATH=pyth), pyth),
        (dict(TRAIN__CHECKPOINT_FILE_PATH=legacy), legacy),
        (dict(TRAIN__CHECKPOINT_FILE_PATH=pkl, TRAIN__CHECKPOINT_TYPE="caffe2"), pkl),
        (dict(TRAIN__ENABLE=False, TEST__CHECKPOINT_FILE_PATH=pyth), pyth),
        (dict(TRAIN__ENABLE=False, TEST__CHECKPOINT_FILE_PATH=pkl, TEST__CHECKPOINT_TYPE="caffe2"), pkl),
    ]
    for k, (overrides, path) in enumerate(cases):
        cfg = helpers.tiny_cfg(tmp_path, tmp_path / f"run{k}", LOG_MODEL_INFO=False, **overrides)
        with pytest.raises(CheckpointError, match=f"{path}: refused to load"):
            run(cfg)
    # A file planted where AUTO_RESUME looks.
    out = tmp_path / "resume"
    os.makedirs(checkpoint_dir(str(out)))
    planted = shutil.copy(pyth, os.path.join(checkpoint_dir(str(out)), "checkpoint_epoch_00002.pyth"))
    with pytest.raises(CheckpointError, match=f"{planted}: refused to load"):
        run(helpers.tiny_cfg(tmp_path, out, LOG_MODEL_INFO=False))
    # tools/predict.py's loader.
    cfg = helpers.tiny_cfg(tmp_path, tmp_path / "predict")
    for path in (pyth, pkl):
        with pytest.raises(CheckpointError, match="refused to load"):
            build_predictor(cfg, path, ["a", "b", "c"])
    assert not marker.exists()


# ---- paths in annotation files ----------------------------------------------------------------
@pytest.fixture
def outside_meccano(tiny_meccano, tmp_path):
    """Annotations in tmp/ann, frames in tmp/data, and a copy of video 0001's frames in tmp/secret."""
    root = tmp_path / "data"
    shutil.copytree(tiny_meccano / "frames", root / "frames")
    shutil.copytree(tiny_meccano / "frames" / "0001", tmp_path / "secret")
    ann = tmp_path / "ann"
    shutil.copytree(tiny_meccano / "annotations", ann)
    return root, ann


@pytest.mark.parametrize("video", ["../../secret", "0001/../../../secret", "..", "/tmp"])
def test_meccano_video_ids_cannot_leave_the_data_folder(outside_meccano, video):
    root, ann = outside_meccano
    path = ann / "MECCANO_train_actions.csv"
    lines = path.read_bytes().split(b"\r\n")
    lines[3] = b",".join([video.encode()] + lines[3].split(b",")[1:])
    path.write_bytes(b"\r\n".join(lines))
    with pytest.raises(AnnotationError, match=f"{path}:4: video_id .* paths may not leave the data folder"):
        build_dataset(meccano_cfg(root, "DATA.PATH_TO_ANNOTATIONS", str(ann)), "train")


@pytest.mark.parametrize("fmt, entry, words", [
    ("csv", "../secret.mp4 0", "has a '..' component"),
    ("csv", "cats/../../secret.mp4 0", "has a '..' component"),
    ("csv", "{secret} 0", "must be a relative path"),
    ("txt", "cats/../../secret.mp4", "has a '..' component"),
    ("txt", "cats\\..\\..\\secret.mp4", "has a '..' component"),
])
def test_video_list_paths_cannot_leave_the_data_folder(tmp_path, fmt, entry, words):
    write_video(str(tmp_path / "secret.mp4"), [np.zeros((24, 32, 3), np.uint8)] * 4, 12)
    root = tmp_path / "data"
    (root / "cats").mkdir(parents=True)
    (root / "dogs").mkdir()
    entry = entry.format(secret=tmp_path / "secret.mp4")
    (root / f"train.{fmt}").write_text(f"cats/a.mp4{' 0' if fmt == 'csv' else ''}\n{entry}\n")
    cfg = meccano_cfg(root, "TRAIN.DATASET", "video_folder", "MODEL.NUM_CLASSES", "2", "DATA.PATH_TO_ANNOTATIONS", "")
    with pytest.raises(AnnotationError, match=rf"train.{fmt}:2: path .*{words}"):
        build_dataset(cfg, "train")
