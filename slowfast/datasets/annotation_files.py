"""Checks shared by every annotation list reader: the text itself and the paths it names.

Lists are often downloaded or edited by hand, so their bytes and paths are not trusted:

* ``read_list_text``: UTF-8 only. A byte-order mark (Excel's "CSV UTF-8") or undecodable
  bytes fail naming the file and line instead of turning the first field into a different
  string. Line endings may be LF, CRLF or mixed; line numbers count them as an editor does.
* ``check_relative_path`` / ``check_folder_name``: a path or name from a list is joined to
  the data folder, so it must stay inside it: absolute paths and ``..`` components (and,
  for a name, any separator) are refused, naming the file and line.
"""
import re

from slowfast.datasets.errors import AnnotationError

BOM = b"\xef\xbb\xbf"
_SEPARATORS = re.compile(r"[\\/]")


def read_list_text(path):
    """The file's text (UTF-8, no BOM); line endings are kept for the CSV reader."""
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(BOM):
        raise AnnotationError(
            f"{path}:1: the file starts with a UTF-8 byte-order mark (BOM); save it as UTF-8 without BOM"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise AnnotationError(f"{path}:{line}: not UTF-8 text (byte {data[e.start]:#04x})") from None


def check_relative_path(text, path, line, what="path"):
    """Refuse ``text`` unless it is a relative path without ``..`` components."""
    if not text or text.startswith(("/", "\\")):
        raise AnnotationError(
            f"{path}:{line}: {what} {text!r} must be a relative path inside the data folder"
        )
    if ".." in _SEPARATORS.split(text):
        raise AnnotationError(
            f"{path}:{line}: {what} {text!r} has a '..' component: paths may not leave the data folder"
        )


def check_folder_name(text, path, line, what="name"):
    """Refuse ``text`` unless it is one plain file or folder name (no separators, not '.' or '..')."""
    if not text or text in (".", "..") or _SEPARATORS.search(text):
        raise AnnotationError(
            f"{path}:{line}: {what} {text!r} must be a plain folder name (no '/', '\\\\', '.' or '..'): "
            "paths may not leave the data folder"
        )
