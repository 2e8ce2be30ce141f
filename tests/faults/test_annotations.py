"""Issue 9, row 2: every kind of malformed annotation file fails at build time naming file and line.

Faults are injected into the real CSVs written by the synthetic generator (official MECCANO
header, CRLF), one per test, and into video-folder lists. Row-content errors that
tests/datasets/test_meccano.py::test_annotation_errors_name_file_and_line already covers on
hand-written CSVs (5 fields, non-integer id, end < start, class out of range, unknown video,
bad frame name, name/id mismatch) are repeated here on the generated files only where they
are one of the issue's named faults.
"""
import shutil

import pytest

from slowfast.datasets import build_dataset
from slowfast.datasets.errors import AnnotationError
from tests.faults.helpers import meccano_cfg

CSV = "MECCANO_train_actions.csv"


def _rows(text):
    """Header and rows of a CRLF CSV as lists of fields."""
    lines = text.split("\r\n")
    assert lines[-1] == ""
    return [line.split(",") for line in lines[:-1]]


def _csv(rows, ends=None):
    ends = ends or ["\r\n"] * len(rows)
    return "".join(",".join(r) + e for r, e in zip(rows, ends)).encode()


def _set(rows, index, field, value):
    rows = [list(r) for r in rows]
    rows[index][field] = value
    return rows


# name -> (rows -> new file bytes, line named in the error, words of the error).
# Row i of the data is line i + 2; data row 3 is line 5.
FAULTS = {
    "missing_column": (lambda r: _csv(r[:4] + [r[4][:4]] + r[5:]), 5, "expected 5 fields, got 4"),
    "missing_header_column": (lambda r: _csv([r[0][:4]] + [x[:4] for x in r[1:]]), 1,
                              "expected the official header"),
    "non_integer_label": (lambda r: _csv(_set(r, 4, 1, "3a")), 5, "action_id '3a' is not an integer"),
    "non_integer_frame": (lambda r: _csv(_set(r, 4, 3, "00x12.jpg")), 5, "frame name '00x12.jpg'"),
    "end_before_start": (lambda r: _csv(_set(_set(r, 4, 3, r[4][4]), 4, 4, r[4][3])), 5, "is before start_frame"),
    "label_out_of_range": (lambda r: _csv(_set(r, 4, 1, "4")), 5, "outside MODEL.NUM_CLASSES=4"),
    "unknown_video": (lambda r: _csv(_set(r, 4, 0, "0042")), 5, "unknown video '0042'"),
    "empty_file": (lambda r: b"", 1, "empty file"),
    "bom": (lambda r: b"\xef\xbb\xbf" + _csv(r), 1, "byte-order mark"),
    "not_utf8": (lambda r: _csv(r[:3]) + b"0001,1,caf\xe9,00001.jpg,00002.jpg\r\n" + _csv(r[3:]), 4, "not UTF-8"),
    "mixed_endings_then_bad_row": (
        lambda r: _csv(_set(r, 6, 1, "x"), ["\n" if i % 2 else "\r\n" for i in range(len(r))]), 7,
        "action_id 'x' is not an integer"),
}


@pytest.fixture
def annotations(tiny_meccano, tmp_path):
    ann = tmp_path / "ann"
    shutil.copytree(tiny_meccano / "annotations", ann)
    return ann


def _cfg(tiny_meccano, ann):
    return meccano_cfg(tiny_meccano, "DATA.PATH_TO_ANNOTATIONS", str(ann))


@pytest.mark.parametrize("fault", list(FAULTS))
def test_malformed_csv_names_file_and_line(tiny_meccano, annotations, fault):
    make, line, words = FAULTS[fault]
    path = annotations / CSV
    path.write_bytes(make(_rows(path.read_bytes().decode())))
    with pytest.raises(AnnotationError) as err:
        build_dataset(_cfg(tiny_meccano, annotations), "train")
    assert str(err.value).startswith(f"{path}:{line}: ") and words in str(err.value)


def test_header_only_file_is_an_error_naming_the_file(tiny_meccano, annotations):
    path = annotations / CSV
    path.write_bytes(path.read_bytes().split(b"\r\n")[0] + b"\r\n")
    with pytest.raises(AnnotationError, match=f"{path}: no segments"):
        build_dataset(_cfg(tiny_meccano, annotations), "train")


def test_bom_in_the_class_list_names_it(tiny_meccano, annotations):
    path = annotations / "MECCANO_action_classes.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    with pytest.raises(AnnotationError, match=f"{path}:1: .*byte-order mark"):
        build_dataset(_cfg(tiny_meccano, annotations), "train")


def test_mixed_line_endings_read_the_same_segments(tiny_meccano, annotations):
    """LF, CRLF or both: the same rows with the same line numbers (hand-edited files stay usable)."""
    pristine = build_dataset(_cfg(tiny_meccano, annotations), "train").segments
    path = annotations / CSV
    rows = _rows(path.read_bytes().decode())
    path.write_bytes(_csv(rows, ["\n" if i % 3 == 1 else "\r\n" for i in range(len(rows))]))
    assert build_dataset(_cfg(tiny_meccano, annotations), "train").segments == pristine


@pytest.mark.parametrize("content, words", [
    (b"\xef\xbb\xbfcats/a.mp4\n", "train.txt:1: the file starts with a UTF-8 byte-order mark"),
    (b"\n\n", "train.txt: no videos listed"),
    (b"cats/a.mp4\r\ndogs/b.mp4\nbirds/c.mp4\r\n", "train.txt:3: 'birds/c.mp4'"),
])
def test_video_list_faults_name_file_and_line(tmp_path, content, words):
    for name in ("cats", "dogs"):
        (tmp_path / name).mkdir()
    (tmp_path / "train.txt").write_bytes(content)
    cfg = meccano_cfg(tmp_path, "TRAIN.DATASET", "video_folder", "MODEL.NUM_CLASSES", "2",
                      "DATA.PATH_TO_ANNOTATIONS", "")
    with pytest.raises(AnnotationError, match=words):
        build_dataset(cfg, "train")
