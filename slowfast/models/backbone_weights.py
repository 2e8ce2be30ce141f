"""Initial weights for the CNN-LSTM's per-frame torchvision backbone.

CNN_LSTM.BACKBONE_WEIGHTS is ``""`` (keep the random init), ``imagenet`` (torchvision's
weights API, which reads ``$TORCH_HOME/hub/checkpoints/<file>`` before trying to download)
or a path to a torchvision state dict. The torchvision classifier keys are dropped: the
backbone here ends at the pooled features. Every failure says which file was expected and
how to get it, because the usual cause is a machine without the weights.
"""
import os

import torch
import torchvision

from slowfast.utils.logging import get_logger

logger = get_logger(__name__)

_HOW_TO_GET = (
    "run `make weights` (or `python tools/fetch_weights.py`) to put torchvision's ImageNet "
    "mobilenet_v2 checkpoint there offline; other backbones are downloaded by torchvision "
    "on a machine with internet access"
)


class BackboneWeightsError(RuntimeError):
    """The requested backbone weights are missing, unreadable or do not fit the backbone."""


def imagenet_weights_file(backbone):
    """Where torchvision's weights API looks for ``backbone``'s ImageNet checkpoint."""
    url = torchvision.models.get_model_weights(backbone).IMAGENET1K_V1.url
    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(url))


def _imagenet_state_dict(backbone):
    weights = torchvision.models.get_model_weights(backbone).IMAGENET1K_V1
    expected = imagenet_weights_file(backbone)
    try:
        return weights.get_state_dict(progress=False, weights_only=True)
    except Exception as e:  # offline download failure, truncated cache file, ...
        raise BackboneWeightsError(
            f"CNN_LSTM.BACKBONE_WEIGHTS=imagenet: could not load {backbone} ImageNet weights; "
            f"expected the file at {expected} ({type(e).__name__}: {e}). To get it, {_HOW_TO_GET}."
        ) from e


def _file_state_dict(path):
    if not os.path.isfile(path):
        raise BackboneWeightsError(
            f"CNN_LSTM.BACKBONE_WEIGHTS: no file at {os.path.abspath(path)}; expected a "
            f"torchvision state dict there (or use `imagenet`; to get the ImageNet file, {_HOW_TO_GET})."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise BackboneWeightsError(
            f"CNN_LSTM.BACKBONE_WEIGHTS: cannot read {path} as a torch state dict "
            f"({type(e).__name__}: {e}); the file is corrupt or not a torch.save() file."
        ) from e
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()
    ):
        raise BackboneWeightsError(
            f"CNN_LSTM.BACKBONE_WEIGHTS: {path} is not a state dict (a mapping of parameter "
            f"names to tensors, as torchvision saves them)."
        )
    return state


def load_backbone_weights(backbone_module, backbone, spec, head_prefix):
    """Load ``spec`` into ``backbone_module`` strictly, ignoring keys under ``head_prefix``.

    ``backbone`` is the torchvision model name; ``head_prefix`` the torchvision classifier
    (``classifier.`` or ``fc.``), which the backbone module replaced by an identity.
    """
    if not spec:
        return
    source = imagenet_weights_file(backbone) if spec == "imagenet" else spec
    state = _imagenet_state_dict(backbone) if spec == "imagenet" else _file_state_dict(spec)
    state = {k: v for k, v in state.items() if not k.startswith(head_prefix)}
    own = backbone_module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong_shape = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong_shape:
        details = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shape)):
            if keys:
                details.append(f"{label} ({len(keys)}): {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}")
        raise BackboneWeightsError(
            f"CNN_LSTM.BACKBONE_WEIGHTS: {source} does not fit CNN_LSTM.BACKBONE={backbone} "
            f"(check CNN_LSTM.BACKBONE and CNN_LSTM.WIDTH_MULT): " + "; ".join(details)
        )
    backbone_module.load_state_dict(state, strict=True)
    logger.info("loaded %s backbone weights from %s (%d tensors)", backbone, source, len(state))
