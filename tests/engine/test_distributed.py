"""Two CPU processes with gloo under torchrun; where ranks come from; SyncBN on CPU."""
import json

import numpy as np
import pytest
import torch

from slowfast.engine import distributed
from slowfast.engine.model_setup import prepare_model
from slowfast.engine.runner import run
from tests.engine import helpers
from tests.engine.tiny import TinyNet, install


def test_two_processes_agree_with_one_process_evaluation(tmp_path, monkeypatch):
    out = tmp_path / "ddp"
    dump = tmp_path / "dump"
    dump.mkdir()
    proc = helpers.run_tiny_subprocess(
        tmp_path, out, env_extra={"TINY_DUMP_DIR": str(dump)}, torchrun=2,
        SOLVER__MAX_EPOCH=2, LOG_MODEL_INFO=False, LOG_PERIOD=2,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rank0, rank1 = (torch.load(dump / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    for key, value in rank0.items():
        assert torch.equal(value, rank1[key]), key
    results = json.loads((out / "results.json").read_text())
    assert results["environment"]["world_size"] == 2
    pred = np.load(out / "predictions.npz")
    # 7 test samples x 2 views split over 2 ranks (4 + 3 samples): each sample exactly once.
    assert pred["index"].tolist() == list(range(7))
    assert results["dataset"]["test_samples"] == 7 and sum(map(sum, results["test"]["confusion"])) == 7

    install(monkeypatch)
    single = run(helpers.tiny_cfg(
        tmp_path, tmp_path / "single", TRAIN__ENABLE=False, LOG_MODEL_INFO=False,
        TEST__CHECKPOINT_FILE_PATH=results["checkpoint"],
    )).results
    single_pred = np.load(tmp_path / "single" / "predictions.npz")
    assert single_pred["index"].tolist() == pred["index"].tolist()
    np.testing.assert_allclose(single_pred["scores"], pred["scores"], rtol=1e-5, atol=1e-6)
    for key in ("top1", "top5", "mean_class_acc", "macro_f1", "confusion", "per_class_acc"):
        assert single["test"][key] == results["test"][key], key


def test_rank_from_torchrun_and_slurm_environment():
    assert distributed.from_environment({}) is None
    assert distributed.from_environment({"RANK": "3", "WORLD_SIZE": "8", "LOCAL_RANK": "1"}) == (3, 8, 1)
    env = {"SLURM_NTASKS": "4", "SLURM_PROCID": "2", "SLURM_LOCALID": "0", "SLURM_JOB_NODELIST": "gpu[07-08,11],cpu1"}
    assert distributed.from_environment(env) == (2, 4, 0)
    assert env["MASTER_ADDR"] == "gpu07" and env["RANK"] == "2" and env["WORLD_SIZE"] == "4"
    assert distributed.from_environment({"SLURM_NTASKS": "1", "SLURM_PROCID": "0"}) is None
    assert distributed.first_slurm_host("node5") == "node5"
    assert distributed.first_slurm_host("a[1,3]") == "a1"


def test_sync_batchnorm_on_cpu_is_refused(tmp_path):
    cfg = helpers.tiny_cfg(tmp_path, tmp_path / "x", BN__NORM_TYPE="sync_batchnorm")
    with pytest.raises(ValueError, match="sync_batchnorm needs GPUs"):
        prepare_model(TinyNet(3, 0.0), cfg, distributed.DistContext())
