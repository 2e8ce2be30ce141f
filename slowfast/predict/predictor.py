"""Sliding-window prediction over a video or a frames folder with a trained model."""
from collections import deque

import torch

from slowfast.predict.source import open_source
from slowfast.predict.windows import make_plan


class Predictor:
    """Runs ``model`` on windows of an input; ``transform`` is a :class:`TestCrop`."""

    def __init__(self, model, transform, input_prep, class_names, batch_size=8):
        self.model = model.eval()
        self.transform = transform
        self.input_prep = input_prep  # the engine's uint8 -> normalised float step
        self.class_names = class_names
        self.batch_size = batch_size

    @torch.no_grad()
    def _scores(self, clips):
        x = self.input_prep(torch.stack(clips))
        return torch.softmax(self.model(x).float(), dim=1).cpu()

    def _windows(self, source, plan):
        """Stream ``source`` once, keeping only frames some window samples.

        Yields (start, indices, C x T x H x W clip) as soon as a window's frames are in;
        the final value of ``self.total`` is the number of frames decoded.
        """
        upcoming, wanted, buffer = deque(), set(), {}
        next_start, last = 0, None
        self.total = 0
        for f, frame in enumerate(source.frames(self.transform)):
            self.total, last = f + 1, frame
            # A window's first sampled frame can sit one frame before its start (centred stride).
            while next_start <= f + 1:
                idx = plan.indices(next_start)
                upcoming.append((next_start, idx))
                wanted.update(idx)
                next_start += plan.stride
            if f in wanted:
                buffer[f] = self.transform(*frame)
            while upcoming and upcoming[0][0] + plan.span <= self.total:
                start, idx = upcoming.popleft()
                yield start, idx, torch.stack([buffer[i] for i in idx], dim=1)
            keep_from = min(upcoming[0][1]) if upcoming else f + 1
            for i in [i for i in buffer if i < keep_from]:
                del buffer[i]
                wanted.discard(i)
        if 0 < self.total < plan.span:
            # Shorter than one window: sample it anyway, clamped to the last frame.
            buffer.setdefault(self.total - 1, self.transform(*last))
            idx = plan.indices(0, self.total)
            yield 0, idx, torch.stack([buffer[i] for i in idx], dim=1)

    def run(self, source, plan, topk=5):
        """Predict every window; returns (list of window dicts, total frames)."""
        done, pending = [], []

        def flush():
            if pending:
                for (start, idx, _), p in zip(pending, self._scores([c for _, _, c in pending])):
                    done.append((start, idx, p))
                pending.clear()

        for item in self._windows(source, plan):
            pending.append(item)
            if len(pending) >= self.batch_size:
                flush()
        flush()
        if self.total == 0:
            raise ValueError(f"{source.path}: no frames decoded")
        windows = []
        for n, (start, idx, probs) in enumerate(done):
            end = min(start + plan.span, self.total) - 1
            scores, ids = probs.topk(min(topk, probs.numel()))
            windows.append({
                "window": n,
                "start_frame": start,
                "end_frame": end,
                "start_s": round(start / source.fps, 4),
                "end_s": round((end + 1) / source.fps, 4),
                "frame_indices": idx,
                "topk": [
                    {"rank": r + 1, "class_id": k, "class_name": self.class_names[k], "score": s}
                    for r, (s, k) in enumerate(zip(scores.tolist(), ids.tolist()))
                ],
            })
        return windows, self.total


def predict(predictor, cfg, input_path, topk=5, span=None, stride=None):
    """Predict every window of ``input_path``; returns the JSON-ready result and the source."""
    source = open_source(input_path, cfg.DATA.FPS)
    plan = make_plan(cfg, source.fps if source.is_video else None, span=span, stride=stride)
    windows, total = predictor.run(source, plan, topk=topk)
    result = {
        "input": input_path,
        "kind": "video" if source.is_video else "frames",
        "fps": source.fps,
        "total_frames": total,
        "duration_s": round(total / source.fps, 4),
        "window": {"num_frames": cfg.DATA.NUM_FRAMES, "sampling": cfg.DATA.SAMPLING_METHOD,
                   "span": plan.span, "stride": plan.stride},
        "class_names": list(predictor.class_names),
        "windows": windows,
    }
    return result, source
