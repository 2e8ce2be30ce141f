"""Start the run: one process, NUM_GPUS local processes, or one rank of torchrun / SLURM.

- torchrun (or any launcher setting RANK / WORLD_SIZE / LOCAL_RANK) and multi-task SLURM
  steps: this process is one rank; nothing is spawned. NUM_GPUS 0 gives CPU ranks on gloo.
- otherwise NUM_GPUS > 1 spawns NUM_GPUS processes per machine (PySlowFast's behaviour), rank =
  SHARD_ID * NUM_GPUS + local rank, world size NUM_GPUS * NUM_SHARDS; several machines
  need ``--init_method tcp://host:port`` (or MASTER_ADDR / MASTER_PORT in the environment).
- otherwise one process (rank SHARD_ID of NUM_SHARDS machines when NUM_SHARDS > 1).

Returns the process exit code: 0, 128 + signal after a SIGTERM/SIGINT checkpoint, 1 on error.
"""
import logging
import os

import torch.multiprocessing as mp

from slowfast.engine import distributed
from slowfast.engine.signals import Interrupted

logger = logging.getLogger(__name__)


def _run_rank(local_rank, cfg, rank_base, world_size, init_method):
    """Body of every process: join the group, run, leave; returns the exit code."""
    from slowfast.engine import runner

    rank = rank_base + local_rank
    try:
        ctx = distributed.init(rank, world_size, local_rank, cfg.NUM_GPUS, cfg.DIST_BACKEND, init_method)
        runner.run(cfg, ctx)
        return 0
    except Interrupted as e:
        logger.warning("%s", e)
        return e.exit_code
    finally:
        distributed.shutdown()


def _spawned(local_rank, cfg, rank_base, world_size, init_method):
    code = _run_rank(local_rank, cfg, rank_base, world_size, init_method)
    if code:
        raise SystemExit(code)


def launch_job(cfg, init_method=None):
    env = distributed.from_environment()
    if env is not None:
        rank, world_size, local_rank = env
        return _run_rank(local_rank, cfg, rank - local_rank, world_size, init_method or "env://")
    local = max(cfg.NUM_GPUS, 1)
    world_size = local * cfg.NUM_SHARDS
    if world_size > 1 and init_method is None:
        if cfg.NUM_SHARDS > 1:
            if "MASTER_ADDR" not in os.environ:
                raise ValueError("NUM_SHARDS > 1 needs --init_method tcp://HOST:PORT (or MASTER_ADDR/MASTER_PORT)")
            init_method = "env://"
        else:
            init_method = f"tcp://127.0.0.1:{distributed.free_port()}"
    rank_base = cfg.SHARD_ID * local
    if local == 1:
        return _run_rank(0, cfg, rank_base, world_size, init_method)
    try:
        mp.spawn(_spawned, nprocs=local, args=(cfg, rank_base, world_size, init_method), join=True)
    except mp.ProcessExitedException as e:
        return e.exit_code if e.exit_code and e.exit_code > 0 else 1
    except mp.ProcessRaisedException as e:
        logger.error("A training process failed:\n%s", e)
        return 1
    return 0
