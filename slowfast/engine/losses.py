"""Training losses over logits; hard labels or soft (mixup / label-smoothed) targets."""
import torch
import torch.nn.functional as F


def one_hot(labels, num_classes, smoothing=0.0):
    """Targets with ``1 - smoothing`` spread as PySlowFast does: off = s/K, on = 1 - s + s/K."""
    off = smoothing / num_classes
    on = 1.0 - smoothing + off
    out = torch.full((labels.shape[0], num_classes), off, device=labels.device, dtype=torch.float32)
    return out.scatter_(1, labels.long().view(-1, 1), on)


def cross_entropy(logits, target):
    """Plain cross entropy; torch accepts class indices or probability targets."""
    return F.cross_entropy(logits.float(), target)


def soft_cross_entropy(logits, target):
    """Mean over the batch of -sum(target * log_softmax(logits)); hard labels become one-hot."""
    if target.dtype in (torch.int64, torch.int32):
        target = one_hot(target, logits.shape[1])
    return torch.sum(-target * F.log_softmax(logits.float(), dim=-1), dim=-1).mean()


def binary_cross_entropy(logits, target):
    """One-vs-rest BCE on logits (our models never apply the sigmoid themselves)."""
    if target.dtype in (torch.int64, torch.int32):
        target = one_hot(target, logits.shape[1])
    return F.binary_cross_entropy_with_logits(logits.float(), target)


# MODEL.LOSS_FUNC -> loss(logits, target). PySlowFast's `bce` expects sigmoid outputs; our models
# return logits, so both BCE names compute the same numerically stable loss.
LOSSES = {
    "cross_entropy": cross_entropy,
    "soft_cross_entropy": soft_cross_entropy,
    "bce": binary_cross_entropy,
    "bce_logit": binary_cross_entropy,
}


def get_loss_func(name):
    if name not in LOSSES:
        raise ValueError(f"MODEL.LOSS_FUNC={name!r} is not one of {sorted(LOSSES)}")
    return LOSSES[name]
