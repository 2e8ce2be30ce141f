"""Class names for predictions: a file the user gives, the config's, or the dataset's own."""
import csv
import json
import os


def read_class_names(path):
    """A JSON list, a JSON ``{name: id}`` map (PySlowFast's format), a CSV with a
    ``name``/``action_name``/``class_name`` column, or a text file with one name per line."""
    if not os.path.isfile(path):
        raise ValueError(f"class names file not found: {path}")
    with open(path, newline="") as f:
        text = f.read()
    if path.lower().endswith(".json"):
        data = json.loads(text)
        if isinstance(data, dict):
            ids = sorted(data.values())
            if ids != list(range(len(ids))):
                raise ValueError(f"{path}: class ids must be 0..{len(ids) - 1}")
            by_id = {v: k for k, v in data.items()}
            return [by_id[i] for i in ids]
        return [str(n) for n in data]
    if path.lower().endswith(".csv"):
        rows = list(csv.DictReader(text.splitlines()))
        column = next((c for c in ("class_name", "action_name", "name") if rows and c in rows[0]), None)
        if column is None:
            raise ValueError(f"{path}: no class_name, action_name or name column")
        id_column = next((c for c in ("class_id", "action_id", "id") if c in rows[0]), None)
        if id_column:
            rows.sort(key=lambda r: int(r[id_column]))
            if [int(r[id_column]) for r in rows] != list(range(len(rows))):
                raise ValueError(f"{path}: {id_column} must be 0..{len(rows) - 1}")
        return [r[column] for r in rows]
    return [line.strip() for line in text.splitlines() if line.strip()]


def class_names_for(cfg, path=None):
    """``path`` if given, else TENSORBOARD.CLASS_NAMES_PATH, else ``class_<k>`` placeholders."""
    path = path or cfg.TENSORBOARD.CLASS_NAMES_PATH
    if path:
        names = read_class_names(path)
        if len(names) != cfg.MODEL.NUM_CLASSES:
            raise ValueError(f"{path}: {len(names)} class names, but MODEL.NUM_CLASSES is {cfg.MODEL.NUM_CLASSES}")
        return names
    return [f"class_{k}" for k in range(cfg.MODEL.NUM_CLASSES)]
