"""Checkpoints: PySlowFast format, newest complete file, safe loading, Caffe2 names, fine-tuning."""
import logging
import os
import pickle
import re

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from slowfast.config import load_config
from slowfast.engine import checkpoint as ckpt
from slowfast.engine.caffe2 import caffe2_to_pytorch_name
from tests.conftest import SHARED
from tests.engine.tiny import TinyNet


def _save(path, model, epoch=0, extra=None):
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return ckpt.save_checkpoint(str(path), model, opt, epoch, load_config(None, []), extra=extra)


def test_saved_file_is_pyslowfast_format_and_loads_weights_only(tmp_path):
    model = TinyNet(3, 0.0)
    path = _save(ckpt.checkpoint_path(str(tmp_path), 4), model, epoch=3, extra={"best": {"epoch": 2}})
    assert os.path.basename(path) == "checkpoint_epoch_00004.pyth"
    data = ckpt.load_file(path)
    assert {"epoch", "model_state", "optimizer_state", "cfg"} <= set(data)
    assert data["epoch"] == 3 and data["best"] == {"epoch": 2}
    assert yaml.safe_load(data["cfg"])["MODEL"]["NUM_CLASSES"] == 400
    for key, value in model.state_dict().items():
        assert torch.equal(data["model_state"][key], value)
    assert os.listdir(os.path.dirname(path)) == ["checkpoint_epoch_00004.pyth"]  # no temp file left


def test_newest_complete_checkpoint_ignores_temporary_and_foreign_files(tmp_path):
    out = str(tmp_path)
    model = TinyNet(3, 0.0)
    for done, iters in [(1, 0), (2, 0), (2, 3)]:
        _save(ckpt.checkpoint_path(out, done, iters), model)
    directory = ckpt.checkpoint_dir(out)
    # A write interrupted by SIGKILL leaves a dot-temp file; none of these may be picked.
    for junk in [".checkpoint_epoch_00009.pyth.abc123.tmp", "checkpoint_epoch_00007.pyth.tmp", "notes.txt"]:
        with open(os.path.join(directory, junk), "wb") as f:
            f.write(b"\x80partial")
    assert os.path.basename(ckpt.last_checkpoint(out)) == "checkpoint_epoch_00002_iter_00003.pyth"
    ckpt.remove_partial_checkpoints(out, 3)
    assert os.path.basename(ckpt.last_checkpoint(out)) == "checkpoint_epoch_00002.pyth"


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pyth_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pyth"
    torch.save({"model_state": {}, "epoch": 0, "x": _Payload(marker)}, path)
    with pytest.raises(ckpt.CheckpointError, match="evil.pyth: refused to load"):
        ckpt.load_weights(str(path), TinyNet(3, 0.0))
    assert not marker.exists()


def test_malicious_caffe2_pickle_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    with open(path, "wb") as f:
        pickle.dump({"blobs": {"conv1_w": _Payload(marker)}}, f, protocol=2)
    with pytest.raises(ckpt.CheckpointError, match=r"evil.pkl: refused to load: global posix.system"):
        ckpt.load_weights(str(path), TinyNet(3, 0.0), checkpoint_type="caffe2")
    assert not marker.exists()


def _caffe2_name(key):
    """Caffe2 blob name of a PySlowFast SlowFast-R50 key (inverse rules, written independently)."""
    suffix = {"weight": "s", "bias": "b", "running_mean": "rm", "running_var": "riv"}
    last_block = {2: 2, 3: 3, 4: 5}
    m = re.match(r"s1\.pathway(\d)_stem\.conv\.weight$", key)
    if m:
        return ("t_" if m[1] == "1" else "") + "conv1_w"
    m = re.match(r"s1\.pathway(\d)_stem\.bn\.(\w+)$", key)
    if m:
        return ("t_" if m[1] == "1" else "") + "res_conv1_bn_" + suffix[m[2]]
    m = re.match(r"s(\d)_fuse\.(conv_f2s|bn)\.(\w+)$", key)
    if m:
        base = "t_pool1_subsample" if m[1] == "1" else f"t_res{m[1]}_{last_block[int(m[1])]}_branch2c_bn_subsample"
        return base + ("_w" if m[2] == "conv_f2s" else "_bn_" + suffix[m[3]])
    m = re.match(r"s(\d)\.pathway(\d)_res(\d+)\.branch(1|2\.([abc]))(_bn)?\.(\w+)$", key)
    if m:
        t = "t_" if m[2] == "1" else ""
        branch = "branch1" if m[4] == "1" else f"branch2{m[5]}"
        end = "_bn_" + suffix[m[7]] if m[6] else "_w"
        return f"{t}res{m[1]}_{m[3]}_{branch}{end}"
    return {"head.projection.weight": "pred_w", "head.projection.bias": "pred_b"}[key]


def test_caffe2_names_map_onto_every_pyslowfast_slowfast_key():
    with open(os.path.join(SHARED, "reference", "pyslowfast", "slowfast_8x8_r50_small_keys_full.txt")) as f:
        keys = [line.split("\t")[0] for line in f if line.strip()]
    keys = [k for k in keys if not k.endswith("num_batches_tracked")]
    assert len(keys) > 500
    for key in keys:
        assert caffe2_to_pytorch_name(_caffe2_name(key)) == key, key
    # The examples of the module docstring.
    assert caffe2_to_pytorch_name("res2_0_branch2a_w") == "s2.pathway0_res0.branch2.a.weight"
    assert caffe2_to_pytorch_name("t_res3_1_branch2b_bn_riv") == "s3.pathway1_res1.branch2.b_bn.running_var"
    assert caffe2_to_pytorch_name("res_conv1_w") == "s1.pathway0_stem.conv.weight"


def test_caffe2_pickle_loads_through_restricted_unpickler(tmp_path, caplog):
    model = TinyNet(3, 0.0)
    rng = np.random.default_rng(0)
    blobs = {
        "conv1_w": rng.standard_normal((8, 3, 1, 3, 3)).astype(np.float32),
        "res_conv1_bn_s": rng.random(8).astype(np.float32),
        "res_conv1_bn_b": rng.random(8).astype(np.float32),
        "res_conv1_bn_rm": rng.random(8).astype(np.float32),
        "res_conv1_bn_riv": rng.random(8).astype(np.float32) + 1,
        "pred_w": rng.standard_normal((3, 8)).astype(np.float32),
        "pred_b": rng.standard_normal(3).astype(np.float32),
        "conv1_w_momentum": np.zeros((8, 3, 1, 3, 3), np.float32),
        "model_iter": np.array(1234),
    }
    path = tmp_path / "c2.pkl"
    with open(path, "wb") as f:
        pickle.dump({"blobs": blobs, "lr": 0.1}, f, protocol=2)
    with caplog.at_level(logging.INFO):
        report, data = ckpt.load_weights(str(path), model, checkpoint_type="caffe2")
    assert data is None and report.incomplete() == []
    sd = model.state_dict()
    assert np.array_equal(sd["s1.pathway0_stem.conv.weight"].numpy(), blobs["conv1_w"])
    assert np.array_equal(sd["s1.pathway0_stem.bn.running_var"].numpy(), blobs["res_conv1_bn_riv"])
    assert np.array_equal(sd["head.projection.weight"].numpy(), blobs["pred_w"])
    assert "conv1_w_momentum" in caplog.text and "model_iter" in caplog.text


def test_head_with_other_class_count_is_skipped_and_logged(tmp_path, caplog):
    torch.manual_seed(0)
    source = TinyNet(5, 0.0)
    path = _save(tmp_path / "k5.pyth", source)
    torch.manual_seed(1)
    target = TinyNet(3, 0.0)
    fresh_head = target.head.projection.weight.detach().clone()
    with caplog.at_level(logging.INFO):
        report, _ = ckpt.load_weights(path, target)
    assert [k for k, _, _ in report.shape_mismatch] == ["head.projection.weight", "head.projection.bias"]
    assert torch.equal(target.head.projection.weight, fresh_head)
    assert torch.equal(target.s1.pathway0_stem.conv.weight, source.s1.pathway0_stem.conv.weight)
    assert "head.projection.weight: checkpoint [5, 8] vs model [3, 8]" in caplog.text
    assert "head.projection.bias: checkpoint [5] vs model [3]" in caplog.text


class _Video(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(2, 4, (3, 3, 3))

    def adapt_state_dict(self, state):
        self.adapted = sorted(state)
        return state


def test_inflation_clear_name_pattern_and_adapt_hook(tmp_path):
    w2d = torch.randn(4, 2, 3, 3)
    path = tmp_path / "img.pyth"
    torch.save({"model_state": {"module.conv.weight": w2d, "module.conv.bias": torch.ones(4)}, "epoch": 0}, path)
    model = _Video()
    report, _ = ckpt.load_weights(str(path), model, inflate=True, clear_name_pattern=("module.",))
    assert model.adapted == ["conv.bias", "conv.weight"]  # names already cleared, not yet inflated
    assert report.incomplete() == []
    expected = w2d.unsqueeze(2).repeat(1, 1, 3, 1, 1) / 3
    assert torch.equal(model.conv.weight.detach(), expected)
    assert torch.allclose(model.conv.weight.sum(2), w2d)


def test_missing_file_and_non_checkpoint_are_named(tmp_path):
    with pytest.raises(ckpt.CheckpointError, match="checkpoint not found: .*nope.pyth"):
        ckpt.load_file(str(tmp_path / "nope.pyth"))
    torch.save({"weights": torch.zeros(1)}, tmp_path / "plain.pyth")
    with pytest.raises(ckpt.CheckpointError, match="plain.pyth: not a PySlowFast checkpoint"):
        ckpt.load_file(str(tmp_path / "plain.pyth"))
