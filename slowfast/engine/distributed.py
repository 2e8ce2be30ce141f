"""Process topology: who am I (rank, world size, device) and the few collectives the loop needs.

Where the numbers come from, in order: torchrun (RANK / WORLD_SIZE / LOCAL_RANK), SLURM
with several tasks (SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID, one task per process;
MASTER_ADDR from the environment or the first host of the node list), else PySlowFast's
NUM_GPUS x NUM_SHARDS with SHARD_ID (launch.py spawns the local processes). NCCL (or
DIST_BACKEND) joins GPU processes, gloo CPU ones (NUM_GPUS 0).
"""
import dataclasses
import os
import re
import socket

import torch
import torch.distributed as dist


@dataclasses.dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = dataclasses.field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self):
        return self.rank == 0

    @property
    def distributed(self):
        return self.world_size > 1


def first_slurm_host(nodelist):
    """First host name of a SLURM node list such as ``gpu[03-05,09],cpu1`` (-> ``gpu03``)."""
    m = re.match(r"^([^,\[]+)(?:\[([^\]]+)\])?", nodelist.strip())
    if not m:
        raise ValueError(f"cannot read a host from SLURM node list {nodelist!r}")
    prefix, ranges = m.groups()
    if not ranges:
        return prefix
    return prefix + ranges.split(",")[0].split("-")[0]


def from_environment(environ=None):
    """(rank, world_size, local_rank) set by torchrun or a multi-task SLURM step, else None.

    For SLURM, also fills MASTER_ADDR / MASTER_PORT / RANK / WORLD_SIZE so ``env://`` works.
    """
    env = os.environ if environ is None else environ
    if "WORLD_SIZE" in env and "RANK" in env:
        return int(env["RANK"]), int(env["WORLD_SIZE"]), int(env.get("LOCAL_RANK", 0))
    if int(env.get("SLURM_NTASKS", "1")) > 1 and "SLURM_PROCID" in env:
        rank, world = int(env["SLURM_PROCID"]), int(env["SLURM_NTASKS"])
        if "MASTER_ADDR" not in env:
            nodelist = env.get("SLURM_STEP_NODELIST") or env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST")
            if not nodelist:
                raise RuntimeError("SLURM run without MASTER_ADDR or a SLURM node list; set MASTER_ADDR")
            env["MASTER_ADDR"] = first_slurm_host(nodelist)
        env.setdefault("MASTER_PORT", "29500")
        env["RANK"], env["WORLD_SIZE"] = str(rank), str(world)
        env.setdefault("LOCAL_RANK", env.get("SLURM_LOCALID", "0"))
        return rank, world, int(env["LOCAL_RANK"])
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def device_for(num_gpus, local_rank):
    if num_gpus == 0:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError(f"NUM_GPUS={num_gpus} but CUDA is not available; use NUM_GPUS 0 for a CPU run")
    if local_rank >= torch.cuda.device_count():
        raise RuntimeError(f"local rank {local_rank} has no GPU ({torch.cuda.device_count()} visible)")
    torch.cuda.set_device(local_rank)
    return torch.device("cuda", local_rank)


def init(rank, world_size, local_rank, num_gpus, backend, init_method):
    """Pick the device and, for more than one process, join the process group."""
    device = device_for(num_gpus, local_rank)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(
            backend=backend if device.type == "cuda" else "gloo",
            init_method=init_method, world_size=world_size, rank=rank,
        )
    return DistContext(rank, world_size, local_rank, device)


def all_reduce_sum(tensor, ctx):
    if ctx.distributed:
        dist.all_reduce(tensor)
    return tensor


def all_gather_objects(obj, ctx):
    if not ctx.distributed:
        return [obj]
    out = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_buffers(module, ctx):
    """Give every rank rank 0's buffers (BN running stats drift apart after the last step)."""
    if ctx.distributed:
        for buf in module.buffers():
            dist.broadcast(buf, src=0)


def barrier(ctx):
    if ctx.distributed:
        dist.barrier()


def shutdown():
    if dist.is_initialized():
        dist.destroy_process_group()
