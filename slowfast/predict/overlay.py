"""Write the input video again with the current top label drawn on every frame."""
from fractions import Fraction

import av
import cv2
import numpy as np

# Tried in order; the first encoder PyAV has wins.
CODECS = ("libx264", "h264", "mpeg4")
# Short side of the labelled video at least this: a label on a 160x120 frame is unreadable.
MIN_SIDE = 360


def _codec():
    for name in CODECS:
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:  # PyAV raises different errors for unknown codecs across versions
            continue
    raise RuntimeError(f"none of the encoders {', '.join(CODECS)} is available in PyAV")


def label_for_frames(windows, total):
    """Per frame, the window whose centre is nearest: its top label is the one shown."""
    centres = np.array([(w["start_frame"] + w["end_frame"]) / 2 for w in windows])
    frames = np.arange(total)
    return np.abs(frames[:, None] - centres[None, :]).argmin(axis=1)


def output_size(h, w, min_side=MIN_SIDE):
    """(height, width) of the labelled video: small inputs are enlarged so the label is
    legible, and both sides are even (4:2:0 chroma needs it)."""
    scale = max(1.0, min_side / min(h, w))
    out_h, out_w = round(h * scale), round(w * scale)
    return out_h + out_h % 2, out_w + out_w % 2


def draw_label(frame, text):
    """Dark banner across the top with ``text`` scaled to fit the frame's width."""
    img = np.ascontiguousarray(frame)
    h, w = img.shape[:2]
    font, thickness = cv2.FONT_HERSHEY_SIMPLEX, max(1, round(h / 360))
    scale = h / 600
    (tw, th), base = cv2.getTextSize(text, font, scale, thickness)
    if tw > 0.94 * w:
        scale *= 0.94 * w / tw
        (tw, th), base = cv2.getTextSize(text, font, scale, thickness)
    bar = th + base + 8
    img[:bar] = (img[:bar] * 0.35).astype(np.uint8)
    cv2.putText(img, text, (6, 4 + th), font, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return img


def write_labelled_video(source, windows, total, out_path):
    """Re-decode ``source`` and encode it to ``out_path`` with labels; returns the codec used."""
    which = label_for_frames(windows, total)
    texts = [f"{w['topk'][0]['class_name']}  {w['topk'][0]['score']:.2f}" for w in windows]
    rate = source.rate or Fraction(source.fps).limit_denominator(1001)
    codec = _codec()
    with av.open(out_path, "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "20"} if codec == "libx264" else {}
        if codec == "mpeg4":
            stream.bit_rate = 2_000_000
        for i, (frame, _, _) in enumerate(source.frames()):
            if i == 0:
                size = output_size(*frame.shape[:2])
                stream.height, stream.width = size
            if frame.shape[:2] != size:
                frame = cv2.resize(frame, size[::-1], interpolation=cv2.INTER_LINEAR)
            img = draw_label(frame, texts[which[min(i, total - 1)]])
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return codec
