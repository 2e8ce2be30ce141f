"""Published MECCANO test results, shown as reference rows beside MECCANO runs.

Source: Ragusa, Furnari, Livatino, Farinella, "The MECCANO Dataset: Understanding
Human-Object Interactions from Egocentric Videos in an Industrial-like Domain",
WACV 2021, Table 3 (action recognition on the test split, Kinetics-pretrained
ResNet-50 backbones), as copied in ../shared/meccano/README.md.
"""

SOURCE = "MECCANO paper, WACV 2021, Table 3"

# model, top-1, top-5, avg class precision, avg class recall, avg class F1 (all in %).
MECCANO_WACV2021 = [
    ("C2D", 41.92, 71.95, 37.60, 38.76, 36.49),
    ("I3D", 42.51, 72.35, 40.04, 40.42, 38.88),
    ("SlowFast", 42.85, 72.47, 42.11, 41.48, 41.05),
]


# The published protocol: MECCANO's 61 action classes (not, e.g., the 8-class synthetic
# demo data, which uses the MECCANO format and dataset name).
MECCANO_NUM_CLASSES = 61


def reference_rows(dataset_name, num_classes):
    """Reference rows for a dataset; empty when nothing is published for it."""
    if dataset_name != "meccano" or num_classes != MECCANO_NUM_CLASSES:
        return []
    return [
        {"model": m, "top1": t1, "top5": t5, "macro_precision": p, "macro_recall": r, "macro_f1": f, "source": SOURCE}
        for m, t1, t5, p, r, f in MECCANO_WACV2021
    ]
