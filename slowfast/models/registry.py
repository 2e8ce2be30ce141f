"""Which module builds which MODEL.ARCH: one table, imported lazily.

Lazy imports keep ``import slowfast`` cheap and let an architecture whose module is
missing or broken fail only when it is asked for, with its name in the error.
"""
import importlib

# MODEL.ARCH -> (PySlowFast MODEL_NAME, "module:function" returning an nn.Module from cfg).
ARCHS = {
    "slowfast": ("SlowFast", "slowfast.models.resnet_family:build_resnet_family"),
    "slow": ("ResNet", "slowfast.models.resnet_family:build_resnet_family"),
    "i3d": ("ResNet", "slowfast.models.resnet_family:build_resnet_family"),
    "c2d": ("ResNet", "slowfast.models.resnet_family:build_resnet_family"),
    "mvit": ("MViT", "slowfast.models.mvit:build_mvit"),
    "cnn_lstm": ("CNNLSTM", "slowfast.models.cnn_lstm:build_cnn_lstm"),
}


class ModelBuildError(ValueError):
    """The config asks for a model (or a model option) that cannot be built."""


def builder_for(arch):
    if arch not in ARCHS:
        raise ModelBuildError(
            f"MODEL.ARCH={arch!r} is not implemented; available: {', '.join(sorted(ARCHS))}"
        )
    _, target = ARCHS[arch]
    module_name, func_name = target.split(":")
    return getattr(importlib.import_module(module_name), func_name)


def build_model(cfg):
    """Build the model for ``cfg.MODEL.ARCH``; it returns logits for B x C x T x H x W clips."""
    arch = cfg.MODEL.ARCH
    fn = builder_for(arch)
    expected_name = ARCHS[arch][0]
    if cfg.MODEL.MODEL_NAME != expected_name:
        raise ModelBuildError(
            f"MODEL.MODEL_NAME={cfg.MODEL.MODEL_NAME!r} does not match MODEL.ARCH={arch!r} "
            f"(expected {expected_name!r})"
        )
    return fn(cfg)
