"""SGD / AdamW with PySlowFast's parameter groups.

Groups, in PySlowFast's order: BatchNorm parameters (BN.WEIGHT_DECAY), everything else
(SOLVER.WEIGHT_DECAY), and a no-decay group for names matched by ``model.no_weight_decay()``
and, with SOLVER.ZERO_WD_1D_PARAM, every 1-D parameter or bias. Frozen parameters are left
out. The multi-tensor (foreach) or fused kernels are used where torch offers them.
"""
import logging

import torch

logger = logging.getLogger(__name__)


def param_groups(model, bn_weight_decay, weight_decay, zero_wd_1d):
    skip = set(model.no_weight_decay()) if hasattr(model, "no_weight_decay") else set()
    bn, decay, no_decay = [], [], []
    for module_name, module in model.named_modules():
        is_bn = isinstance(module, torch.nn.modules.batchnorm._NormBase)
        for param_name, param in module.named_parameters(recurse=False):
            name = f"{module_name}.{param_name}".strip(".")
            if not param.requires_grad:
                continue
            if is_bn:
                bn.append(param)
            elif any(key in name for key in skip):
                no_decay.append(param)
            elif zero_wd_1d and (param.ndim == 1 or name.endswith(".bias")):
                no_decay.append(param)
            else:
                decay.append(param)
    groups = [
        {"params": bn, "weight_decay": bn_weight_decay},
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    logger.info("Optimizer groups: %d BN, %d with weight decay, %d without", len(bn), len(decay), len(no_decay))
    return [g for g in groups if g["params"]]


def _kernel_options(params):
    """fused on CUDA (one kernel per step), foreach elsewhere."""
    on_cuda = all(p.is_cuda for g in params for p in g["params"])
    return {"fused": True} if on_cuda else {"foreach": True}


def build_optimizer(model, cfg):
    """The optimizer for ``model`` (unwrapped, already on its device)."""
    s = cfg.SOLVER
    groups = param_groups(model, cfg.BN.WEIGHT_DECAY, s.WEIGHT_DECAY, s.ZERO_WD_1D_PARAM)
    if not groups:
        raise ValueError("the model has no trainable parameters")
    kernels = _kernel_options(groups)
    if s.OPTIMIZING_METHOD == "sgd":
        if s.NESTEROV and (s.MOMENTUM <= 0 or s.DAMPENING != 0):
            raise ValueError(
                f"SOLVER.NESTEROV needs SOLVER.MOMENTUM > 0 and SOLVER.DAMPENING 0 "
                f"(got {s.MOMENTUM}, {s.DAMPENING})"
            )
        return torch.optim.SGD(
            groups, lr=s.BASE_LR, momentum=s.MOMENTUM, dampening=s.DAMPENING,
            nesterov=s.NESTEROV, weight_decay=s.WEIGHT_DECAY, **kernels,
        )
    if s.OPTIMIZING_METHOD == "adamw":
        return torch.optim.AdamW(
            groups, lr=s.BASE_LR, betas=tuple(s.BETAS), eps=1e-8, weight_decay=s.WEIGHT_DECAY, **kernels
        )
    raise ValueError(f"SOLVER.OPTIMIZING_METHOD={s.OPTIMIZING_METHOD!r} is not one of sgd, adamw")


def set_lr(optimizer, lr):
    for group in optimizer.param_groups:
        group["lr"] = lr
