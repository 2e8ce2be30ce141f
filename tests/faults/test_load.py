"""Issue 9, row 8: a long run compressed into seconds grows neither memory nor open files.

Leaks live at the boundaries a long run crosses many times: a new loader iterator per epoch,
frames opened and closed, a validation pass, a checkpoint and log lines per epoch. This run
crosses them EPOCHS times (real JPEG decoding of the synthetic MECCANO data, two persistent
workers for train and two for val, validation and a checkpoint every epoch) and samples, at
every epoch end, the resident memory of the main process plus its workers (psutil) and the
open file descriptors of each (/proc/PID/fd). After WARMUP epochs both must stay flat within
the bounds below; docs/reliability.md lists the measured numbers.
"""
import json
import os

import psutil

from slowfast.engine.runner import run
from slowfast.engine.train import Trainer
from tests.engine.tiny import install
from tests.faults.helpers import copy_data, run_cfg

EPOCHS = 40
WARMUP = 5
MAX_RSS_GROWTH_MB = 16.0  # after warm-up, main process + workers (measured: under 1 MB)
MAX_FD_GROWTH = 0


def _sample(process, earlier_children):
    """(RSS MB of the process and this run's children, open fds of all, worker pids, RSS MB of the main process).

    Children that existed before the run (workers of earlier tests in the same pytest process,
    still shutting down) are not this run's and are left out.
    """
    procs = [process] + [c for c in process.children(recursive=True) if c.pid not in earlier_children]
    rss, fds = 0, 0
    for p in procs:
        try:
            rss += p.memory_info().rss
            fds += p.num_fds()
        except psutil.NoSuchProcess:  # a child that exited between listing and reading
            continue
    return rss / 2**20, fds, sorted(p.pid for p in procs[1:]), process.memory_info().rss / 2**20


def test_forty_epochs_with_persistent_workers_do_not_grow(tiny_meccano, tmp_path, monkeypatch):
    install(monkeypatch)
    root = copy_data(tiny_meccano, tmp_path)
    samples = []
    process = psutil.Process()
    earlier_children = {c.pid for c in process.children(recursive=True)}
    real_train_epoch = Trainer.train_epoch

    def measured(self, *args, **kwargs):
        stats = real_train_epoch(self, *args, **kwargs)
        samples.append(_sample(process, earlier_children))
        return stats

    monkeypatch.setattr(Trainer, "train_epoch", measured)
    out = tmp_path / "run"
    cfg = run_cfg(root, out, SOLVER__MAX_EPOCH=EPOCHS, TRAIN__BATCH_SIZE=7, DATA_LOADER__NUM_WORKERS=2,
                  DATA_LOADER__PERSISTENT_WORKERS=True, TRAIN__EVAL_PERIOD=1, TRAIN__CHECKPOINT_PERIOD=1,
                  TEST__ENABLE=False, LOG_PERIOD=1)
    run(cfg)
    assert len(samples) == EPOCHS
    rss = [s[0] for s in samples]
    fds = [s[1] for s in samples]
    workers = [s[2] for s in samples]
    main = [s[3] for s in samples]
    base_rss, base_fds = rss[WARMUP - 1], fds[WARMUP - 1]
    report = {"epochs": EPOCHS, "rss_mb_at_warmup": round(base_rss, 1), "rss_mb_max_after": round(max(rss[WARMUP:]), 1),
              "rss_mb_last": round(rss[-1], 1), "fds_at_warmup": base_fds, "fds_max_after": max(fds[WARMUP:]),
              "fds_first_epoch": fds[0], "workers": len(workers[-1]),
              "main_rss_mb_at_warmup": round(main[WARMUP - 1], 1), "main_rss_mb_last": round(main[-1], 1)}
    print("load:", json.dumps(report))
    # The same 4 worker processes (2 train + 2 val) serve every epoch after the first validation.
    assert all(w == workers[-1] for w in workers[1:]) and len(workers[-1]) == 4
    assert max(rss[WARMUP:]) - base_rss <= MAX_RSS_GROWTH_MB, rss
    assert max(fds[WARMUP:]) - base_fds <= MAX_FD_GROWTH, fds
    assert len(os.listdir(out / "checkpoints")) == EPOCHS + 1  # every epoch's checkpoint + best.pyth
