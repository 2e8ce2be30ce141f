"""Load a YAML plus ``KEY VALUE`` overrides into a validated, frozen config.

We merge by hand instead of yacs' ``merge_from_file`` so that every error names the
key and where it came from, and so that an int given for a float key (``SOLVER.BASE_LR 1``)
is accepted the way a user expects.
"""
import ast
import os

import yaml
from yacs.config import CfgNode

from slowfast.config.compat import unsupported_settings
from slowfast.config.defaults import get_cfg


class ConfigError(ValueError):
    """A config file or override that cannot be used; the message names key and source."""


def _decode(value):
    """Turn YAML/command-line strings into Python values like yacs does ("(3, 7, 7)" -> tuple)."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        return value
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def _coerce(default, value, key, source):
    """Return ``value`` typed like ``default`` or raise naming the key."""
    if default is None or value is None:
        return value
    if isinstance(default, str):
        return value if isinstance(value, str) else str(value)
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(default, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    elif isinstance(default, int) and isinstance(value, int) and not isinstance(value, bool):
        return value
    elif isinstance(default, (list, tuple)) and isinstance(value, (list, tuple)):
        return type(default)(value)
    raise ConfigError(
        f"{source}: {key} expects {type(default).__name__} (default {default!r}), got {value!r}"
    )


def _merge(cfg, updates, source, prefix=""):
    for name, raw in updates.items():
        key = prefix + name
        if name not in cfg:
            raise ConfigError(f"{source}: unknown config key {key}")
        value = _decode(raw)
        if isinstance(cfg[name], CfgNode):
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: {key} is a section, got {value!r}")
            _merge(cfg[name], value, source, key + ".")
        else:
            if isinstance(value, dict):
                raise ConfigError(f"{source}: {key} is a value, not a section")
            cfg[name] = _coerce(cfg[name], value, key, source)


def _read_yaml(path, seen=()):
    """Read a YAML file, following fvcore's ``_BASE_`` inheritance."""
    if not os.path.isfile(path):
        raise ConfigError(f"config file not found: {path}")
    with open(path) as f:
        try:
            tree = yaml.safe_load(f) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(tree, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys at the top level")
    base = tree.pop("_BASE_", None)
    chain = []
    if base:
        base_path = os.path.join(os.path.dirname(path), base)
        if base_path in seen:
            raise ConfigError(f"{path}: _BASE_ cycle through {base_path}")
        chain = _read_yaml(base_path, seen + (path,))
    return chain + [(path, tree)]


def merge_file(cfg, path):
    for source, tree in _read_yaml(path):
        _merge(cfg, tree, source)


def merge_opts(cfg, opts):
    """Apply ``KEY VALUE`` pairs from the command line."""
    opts = list(opts or [])
    if len(opts) % 2:
        raise ConfigError(f"command-line overrides must be KEY VALUE pairs, got {opts!r}")
    for key, raw in zip(opts[0::2], opts[1::2]):
        *parents, leaf = key.split(".")
        node = cfg
        for i, part in enumerate(parents):
            if part not in node or not isinstance(node[part], CfgNode):
                raise ConfigError(f"command line: unknown config key {key}")
            node = node[part]
        _merge(node, {leaf: raw}, "command line", ".".join(parents) + "." if parents else "")


def validate_and_infer(cfg, source="config"):
    """Refuse unsupported or inconsistent settings, then fill in derived values."""
    problems = unsupported_settings(cfg)
    if cfg.SHARD_ID >= cfg.NUM_SHARDS:
        problems.append(f"SHARD_ID={cfg.SHARD_ID} must be below NUM_SHARDS={cfg.NUM_SHARDS}")
    for split in ("TRAIN", "TEST"):
        bs = cfg[split].BATCH_SIZE
        devices = max(cfg.NUM_GPUS, 1) * cfg.NUM_SHARDS
        if bs % devices:
            problems.append(
                f"{split}.BATCH_SIZE={bs} is not divisible by NUM_GPUS x NUM_SHARDS = {devices}"
            )
    if cfg.TRAIN.GRAD_ACCUM_STEPS < 1:
        problems.append(f"TRAIN.GRAD_ACCUM_STEPS={cfg.TRAIN.GRAD_ACCUM_STEPS} must be >= 1")
    if cfg.SOLVER.LR_POLICY == "steps_with_relative_lrs" and len(cfg.SOLVER.STEPS) != len(cfg.SOLVER.LRS):
        problems.append("SOLVER.STEPS and SOLVER.LRS must have the same length")
    if not 0.0 < cfg.TEST.SUBSET_FRACTION <= 1.0:
        problems.append(f"TEST.SUBSET_FRACTION={cfg.TEST.SUBSET_FRACTION} must be in (0, 1]")
    if problems:
        raise ConfigError(f"{source}:\n  " + "\n  ".join(problems))
    if cfg.SOLVER.BASE_LR_SCALE_NUM_SHARDS:
        cfg.SOLVER.BASE_LR *= cfg.NUM_SHARDS
        cfg.SOLVER.WARMUP_START_LR *= cfg.NUM_SHARDS
        cfg.SOLVER.COSINE_END_LR *= cfg.NUM_SHARDS
    return cfg


def load_config(path=None, opts=None, freeze=True):
    """Defaults <- YAML file <- overrides; validated, derived values filled in, frozen."""
    cfg = get_cfg()
    if path:
        merge_file(cfg, path)
    merge_opts(cfg, opts)
    source = path or "config"
    if opts:
        source += " + command-line overrides"
    validate_and_infer(cfg, source)
    if freeze:
        cfg.freeze()
    return cfg
