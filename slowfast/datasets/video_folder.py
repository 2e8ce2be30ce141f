"""Video files as samples: a class-per-folder tree with split lists, or Kinetics-style CSVs.

Two list formats, looked up in DATA.PATH_TO_ANNOTATIONS (default: DATA.PATH_TO_DATA_DIR):

* ``{split}.csv``: PySlowFast's ``path label`` lines (DATA.PATH_LABEL_SEPARATOR), paths
  joined to DATA.PATH_PREFIX (else to DATA.PATH_TO_DATA_DIR).
* ``{split}.txt``: ``<class>/<video>`` lines relative to DATA.PATH_TO_DATA_DIR; the label is
  the class's position in ``classes.txt`` if present, else in the sorted class folders.

``classes.txt`` (one name per line) names the classes in either format. Listed paths must be
relative and free of ``..`` components, so a list cannot reach outside the data folder. Each sample is a
whole video; sampling treats frames ``0..n-1`` as the segment, and the stride window is
stretched by the video's fps / DATA.TARGET_FPS as in PySlowFast.
"""
import io
import os

from slowfast.datasets.annotation_files import check_relative_path, read_list_text
from slowfast.datasets.clip_dataset import ClipDataset
from slowfast.datasets.errors import AnnotationError, MissingDataError
from slowfast.datasets.frames import VideoReader

CLASSES_FILE = "classes.txt"


def _read_lines(path):
    with io.StringIO(read_list_text(path)) as f:
        return [(n, line.strip()) for n, line in enumerate(f, start=1) if line.strip()]


def read_csv_list(path, separator, prefix, num_classes):
    """[(video path, label, line)] from PySlowFast's ``path<sep>label`` list."""
    videos = []
    for line, text in _read_lines(path):
        parts = text.split(separator)
        if len(parts) != 2 or not parts[1].strip().isdigit():
            raise AnnotationError(f"{path}:{line}: expected 'path{separator}label', got {text!r}")
        check_relative_path(parts[0], path, line)
        label = int(parts[1])
        if label >= num_classes:
            raise AnnotationError(f"{path}:{line}: label {label} is outside MODEL.NUM_CLASSES={num_classes}")
        videos.append((os.path.join(prefix, parts[0]), label, line))
    return videos


def read_folder_list(path, root, class_names):
    """[(video path, label, line)] from ``<class>/<video>`` lines."""
    index = {name: i for i, name in enumerate(class_names)}
    videos = []
    for line, text in _read_lines(path):
        cls = text.replace("\\", "/").split("/")[0]
        if "/" not in text.replace("\\", "/") or cls not in index:
            raise AnnotationError(
                f"{path}:{line}: {text!r} is not '<class>/<video>' with a known class ({len(index)} classes)"
            )
        check_relative_path(text, path, line)
        videos.append((os.path.join(root, text), index[cls], line))
    return videos


class VideoFolder(ClipDataset):
    """TRAIN.DATASET video_folder (and kinetics): one sample per listed video file."""

    def __init__(self, cfg, split):
        super().__init__(cfg, split)
        root = cfg.DATA.PATH_TO_DATA_DIR
        ann_dir = cfg.DATA.PATH_TO_ANNOTATIONS or root
        self.target_fps = cfg.DATA.TARGET_FPS
        self.decode_threads = 0 if cfg.DATA_LOADER.ENABLE_MULTI_THREAD_DECODE else 1
        csv_path = os.path.join(ann_dir, f"{split}.csv")
        txt_path = os.path.join(ann_dir, f"{split}.txt")
        classes_path = os.path.join(ann_dir, CLASSES_FILE)
        names = [t for _, t in _read_lines(classes_path)] if os.path.isfile(classes_path) else None
        if os.path.isfile(csv_path):
            prefix = cfg.DATA.PATH_PREFIX or root
            self.videos = read_csv_list(csv_path, cfg.DATA.PATH_LABEL_SEPARATOR, prefix, self.num_classes)
            self.class_names = names or [str(i) for i in range(self.num_classes)]
            source = classes_path if names else csv_path
        elif os.path.isfile(txt_path):
            if names is None:
                if not os.path.isdir(root):
                    raise MissingDataError(f"DATA.PATH_TO_DATA_DIR={root!r} is not a folder")
                names = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
            self.class_names = names
            self.videos = read_folder_list(txt_path, root, names)
            source = classes_path if os.path.isfile(classes_path) else f"the class folders of {root}"
        else:
            raise MissingDataError(
                f"no {split} list for the video-folder dataset: looked for {csv_path} "
                f"(PySlowFast 'path label' lines) and {txt_path} ('<class>/<video>' lines); "
                "set DATA.PATH_TO_DATA_DIR / DATA.PATH_TO_ANNOTATIONS"
            )
        if not self.videos:
            raise AnnotationError(f"{csv_path if os.path.isfile(csv_path) else txt_path}: no videos listed")
        self._check_classes(source)
        self.sample_labels = [label for _, label, _ in self.videos]

    def video_id(self, sample):
        return os.path.splitext(os.path.basename(self.videos[sample][0]))[0]

    def _load(self, sample, rng, temporal_view, spatial_view):
        path = self.videos[sample][0]
        with VideoReader(path, self.decode_threads) as video:
            n = video.num_frames or video.count_frames()
            indices = self.temporal(0, n - 1, 0, n - 1, rng, temporal_view, self.num_temporal_views,
                                    rate_scale=video.fps / self.target_fps)
            plan = self.spatial(video.width, video.height, rng, spatial_view)
            min_w, min_h = plan.decode_size(video.width, video.height)
            decoded = video.read(indices, min_w, min_h)
        frames = {n: plan.apply(img, video.width, video.height) for n, img in decoded.items()}
        return [frames[n] for n in indices.tolist()], indices
