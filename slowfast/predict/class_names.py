"""Class names for predictions: a file the user gives, the config's, or the dataset's own."""
import csv
import json
import logging
import os

from slowfast.datasets import build_dataset, meccano
from slowfast.datasets.errors import AnnotationError, MissingDataError

logger = logging.getLogger(__name__)


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
    """``path`` if given, else TENSORBOARD.CLASS_NAMES_PATH, else the test dataset's own names
    (MECCANO's class list needs no frames), else ``class_<k>`` placeholders."""
    path = path or cfg.TENSORBOARD.CLASS_NAMES_PATH
    if path:
        names = read_class_names(path)
    elif cfg.TEST.DATASET == "meccano":
        ann_dir = cfg.DATA.PATH_TO_ANNOTATIONS or meccano.DEFAULT_ANNOTATIONS
        classes = os.path.join(ann_dir, meccano.CLASSES_FILE)
        if not os.path.isfile(classes):
            classes = os.path.join(meccano.DEFAULT_ANNOTATIONS, meccano.CLASSES_FILE)
        names, path = meccano.read_classes(classes), classes
    else:
        try:
            names, path = build_dataset(cfg, "test").class_names, f"the {cfg.TEST.DATASET} test list"
        except (MissingDataError, AnnotationError, ValueError) as e:
            logger.warning("No class names (%s); using class_<k>", e)
            return [f"class_{k}" for k in range(cfg.MODEL.NUM_CLASSES)]
    if len(names) != cfg.MODEL.NUM_CLASSES:
        raise ValueError(f"{path}: {len(names)} class names, but MODEL.NUM_CLASSES is {cfg.MODEL.NUM_CLASSES}")
    return list(names)
