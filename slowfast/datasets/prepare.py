"""One-time re-encoding of MECCANO's 1920x1080 frames at a smaller size, same layout and names.

Decoding a 256-320 px JPEG costs about a tenth of a 1080p one, which is what keeps a GPU
fed. Every folder of ``*.jpg`` under ``src`` is mirrored under ``dst``; frames are written
atomically, a finished folder gets a ``.prepared`` marker, and a rerun skips marked folders
and frames already written, so an interrupted run resumes.
"""
import os
from multiprocessing import get_context

import cv2
import simplejpeg

from slowfast.datasets.frames import decode_jpeg, jpeg_size, read_bytes

MARKER = ".prepared"
CHUNK = 256


def find_frame_folders(src):
    """Folders (relative to ``src``) that hold .jpg frames, sorted."""
    found = []
    for folder, _, files in os.walk(src):
        if any(f.endswith(".jpg") for f in files):
            found.append(os.path.relpath(folder, src))
    return sorted(found)


def resize_frame(data, path, short_side, quality):
    """JPEG bytes with the short side at most ``short_side`` (DCT-scaled decode, area resize)."""
    width, height = jpeg_size(data, path)
    if min(width, height) <= short_side:
        return data
    scale = short_side / min(width, height)
    out_w, out_h = max(1, round(width * scale)), max(1, round(height * scale))
    image = decode_jpeg(data, path, out_w, out_h)
    image = cv2.resize(image, (out_w, out_h), interpolation=cv2.INTER_AREA)
    return simplejpeg.encode_jpeg(image, quality=quality, colorspace="RGB", colorsubsampling="420")


def _work(job):
    src_dir, dst_dir, names, short_side, quality = job
    for name in names:
        src = os.path.join(src_dir, name)
        dst = os.path.join(dst_dir, name)
        tmp = dst + ".tmp"
        with open(tmp, "wb") as f:
            f.write(resize_frame(read_bytes(src), src, short_side, quality))
        os.replace(tmp, dst)
    return dst_dir, len(names)


def prepare(src, dst, short_side=320, quality=90, workers=None, progress=True):
    """Mirror ``src`` into ``dst`` at ``short_side``; returns {"done": folders, "skipped": folders}."""
    folders = find_frame_folders(src)
    if not folders:
        raise FileNotFoundError(f"no folders of .jpg frames under {src}")
    jobs, pending, skipped = [], {}, []
    for rel in folders:
        src_dir, dst_dir = os.path.join(src, rel), os.path.join(dst, rel)
        if os.path.exists(os.path.join(dst_dir, MARKER)):
            skipped.append(rel)
            continue
        os.makedirs(dst_dir, exist_ok=True)
        names = sorted(n for n in os.listdir(src_dir) if n.endswith(".jpg")
                       and not os.path.exists(os.path.join(dst_dir, n)))
        pending[dst_dir] = len(names)
        jobs += [(src_dir, dst_dir, names[i:i + CHUNK], short_side, quality) for i in range(0, len(names), CHUNK)]
    total = sum(pending.values())
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="frame", desc=f"frames to {short_side}px")
    if jobs:
        # spawn: fresh children (a forked child calling cv2.setNumThreads can deadlock).
        with get_context("spawn").Pool(workers or os.cpu_count(), initializer=cv2.setNumThreads,
                                       initargs=(1,)) as pool:
            for dst_dir, count in pool.imap_unordered(_work, jobs):
                pending[dst_dir] -= count
                if bar is not None:
                    bar.update(count)
                if pending[dst_dir] == 0:
                    open(os.path.join(dst_dir, MARKER), "w").close()
    for dst_dir, left in pending.items():
        if left == 0 and not os.path.exists(os.path.join(dst_dir, MARKER)):
            # Folders whose frames were all written by an interrupted run.
            open(os.path.join(dst_dir, MARKER), "w").close()
    if bar is not None:
        bar.close()
    return {"done": [os.path.relpath(d, dst) for d in pending], "skipped": skipped, "frames": total}
