"""Which settings a resumed run changes against the config saved in its checkpoint.

AUTO_RESUME continues whatever checkpoint is in OUTPUT_DIR; if the YAML or the command line
changed in between (another learning rate, another crop), the run silently mixes two
recipes. Listing the differences at resume time makes that visible.
"""
import yaml

# Keys that legitimately differ between a run and its resumption.
EXPECTED_TO_CHANGE = ("SOLVER.MAX_EPOCH", "TRAIN.AUTO_RESUME", "NUM_GPUS", "NUM_SHARDS", "SHARD_ID",
                      "DATA_LOADER.", "LOG_PERIOD", "TENSORBOARD.", "OUTPUT_DIR")


def _flatten(tree, prefix=""):
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _expected(key):
    return any(key == k or (k.endswith(".") and key.startswith(k)) for k in EXPECTED_TO_CHANGE)


def config_differences(saved_dump, cfg):
    """``[(key, saved value, current value)]`` for keys of ``cfg`` whose value differs from ``saved_dump``.

    ``saved_dump`` is the YAML text a checkpoint stores (``cfg.dump()``). Keys only one side
    has (a checkpoint from an older version) and keys in EXPECTED_TO_CHANGE are left out.
    """
    saved = _flatten(yaml.safe_load(saved_dump) or {})
    current = _flatten(yaml.safe_load(cfg.dump()))
    return [(key, saved[key], value) for key, value in sorted(current.items())
            if key in saved and saved[key] != value and not _expected(key)]
