"""The three ways data can be wrong, kept apart because the pipeline treats them differently.

* ``MissingDataError``: the dataset as a whole is not where the config says (fail at build,
  with instructions).
* ``AnnotationError``: a list file is wrong (fail at build, naming file and line).
* ``BadInputError``: one frame or video cannot be read. Training replaces the item and counts
  it; evaluation fails, because a skipped item would make the metric silently wrong.
"""


class MissingDataError(FileNotFoundError):
    """Frames, videos or list files are absent; the message says where they were looked for."""


class AnnotationError(ValueError):
    """A malformed or inconsistent annotation row; the message names the file and line."""


class BadInputError(OSError):
    """An unreadable, empty, corrupt or truncated frame or video file."""

    def __init__(self, path, reason=None):
        # DataLoader re-raises a worker's error as ``type(message)``: one argument, already
        # formatted. Accepting it keeps the type (and the file name) in the main process.
        super().__init__(str(path) if reason is None else f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason

    def __reduce__(self):
        # Rebuild from (path, reason) so the error survives the trip back from a worker.
        return (type(self), (self.path, self.reason))
