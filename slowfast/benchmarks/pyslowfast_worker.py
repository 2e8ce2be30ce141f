"""Times PySlowFast's own model for `benchmark.py model --pyslowfast DIR`; run as a script, never imported.

It runs with only the PySlowFast checkout on PYTHONPATH, so ``slowfast`` here is PySlowFast's
package. The timing code is our ``model.py`` loaded from its file (it imports nothing of ours at
module level), so both implementations are timed by the same lines.
"""
import importlib.util
import json
import os
import sys


def _load_timing_module(path):
    spec = importlib.util.spec_from_file_location("_benchmark_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pathways(x, cfg):
    """PySlowFast's input list: [slow, fast] for SlowFast (slow = linspace subsample, as its PackPathway), else [x]."""
    import torch

    if cfg.MODEL.ARCH != "slowfast":
        return [x]
    frames = x.shape[2]
    index = torch.linspace(0, frames - 1, frames // cfg.SLOWFAST.ALPHA).long().to(x.device)
    return [x.index_select(2, index), x]


def main():
    spec = json.loads(sys.argv[1])
    checkout = os.path.abspath(spec["pyslowfast"])
    sys.path.insert(0, checkout)
    bench = _load_timing_module(spec["worker_module"])

    import torch
    from yacs.config import CfgNode

    import slowfast

    if not os.path.abspath(slowfast.__file__).startswith(checkout + os.sep):
        raise SystemExit(f"--pyslowfast {checkout}: 'import slowfast' found {slowfast.__file__} instead")
    from slowfast.models import build_model

    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    with open(spec["cfg_dump"]) as f:
        cfg = CfgNode.load_cfg(f)
    device = bench.pick_device(spec["device"])
    cfg.NUM_GPUS = 1 if device.type == "cuda" else 0
    torch.manual_seed(cfg.RNG_SEED)
    model = build_model(cfg).to(device)
    inputs = pathways(bench.random_clip(cfg, spec, device), cfg)
    if cfg.MODEL.CHANNELS_LAST:
        model = model.to(memory_format=torch.channels_last_3d)
        inputs = [x.contiguous(memory_format=torch.channels_last_3d) for x in inputs]
    if cfg.MODEL.COMPILE:
        model = torch.compile(model, mode=cfg.MODEL.COMPILE_MODE)
    print(json.dumps(bench.time_steps(model, inputs, cfg, spec, device)))


if __name__ == "__main__":
    main()
