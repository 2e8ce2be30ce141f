"""Decoding: JPEG frames with libjpeg's DCT scaling, video frames with PyAV, nothing more.

JPEG: ``simplejpeg`` decodes at 1/2, 3/8, 1/4 or 1/8 size in the DCT when asked for a
minimum size, which is where most of the time goes at 1080p. Scaling is used only when the
image is at least twice the needed size (factors closer to 1 can be slower than a full
decode). Video: one single-threaded decoder per worker, seek to the first needed frame,
decode forward, and convert (colour + size, ``threads=1``) only the frames that are used.
Every failure is a ``BadInputError`` naming the file.
"""
import math

import av
import simplejpeg

from slowfast.datasets.errors import BadInputError


def read_bytes(path):
    """The file's bytes; missing or empty files are bad input."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise BadInputError(path, f"cannot read ({e.strerror or e})") from None
    if not data:
        raise BadInputError(path, "empty file")
    return data


def jpeg_size(data, path):
    """(width, height) from the JPEG header."""
    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError as e:
        raise BadInputError(path, f"not a readable JPEG ({e})") from None
    return width, height


def decode_jpeg(data, path, min_width=0, min_height=0):
    """RGB uint8 H x W x 3, DCT-scaled down when the image is at least 2x the minimum size."""
    try:
        kwargs = {}
        if min_width > 0 and min_height > 0:
            height, width, _, _ = simplejpeg.decode_jpeg_header(data)
            if width >= 2 * min_width and height >= 2 * min_height:
                kwargs = dict(min_width=min_width, min_height=min_height, min_factor=2)
        return simplejpeg.decode_jpeg(data, colorspace="RGB", **kwargs)
    except ValueError as e:
        raise BadInputError(path, f"corrupt or truncated JPEG ({e})") from None


class VideoReader:
    """An open video: frame count, fps and size, and decoding of chosen frame numbers.

    Frame ``i`` means the frame shown at ``start + i / fps`` (fps = the stream's average
    rate), so variable-frame-rate files map to a regular grid: each requested index gets the
    decoded frame whose timestamp is nearest.
    """

    def __init__(self, path, threads=1):
        """``threads`` decoder threads: 1 in loader workers (the workers are the parallelism), 0 = FFmpeg's choice."""
        self.path = str(path)
        self._threads = threads
        try:
            self._container = av.open(self.path)
        except (av.FFmpegError, OSError) as e:
            raise BadInputError(path, f"cannot open video ({e})") from None
        try:
            self._probe()
        except BadInputError:
            self.close()
            raise

    def _probe(self):
        """Stream, fps, size, first timestamp and frame count, from the headers and first packet."""
        if not self._container.streams.video:
            raise BadInputError(self.path, "no video stream")
        fmt = self._container.format.name
        if fmt == "image2" or fmt.endswith("_pipe"):
            # FFmpeg opens a lone image as a one-frame video: every "clip" would be a still.
            raise BadInputError(self.path, f"a still image ({fmt}), not a video")
        stream = self._container.streams.video[0]
        stream.thread_type = "SLICE" if self._threads == 1 else "AUTO"
        stream.codec_context.thread_count = self._threads
        self._stream = stream
        self._rewind = self._seeked = False
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        self.fps = float(rate) if rate else 25.0
        self.width = stream.codec_context.width
        self.height = stream.codec_context.height
        if not self.width or not self.height:
            raise BadInputError(self.path, "video stream has no frame size")
        self._start = self._first_time()
        if stream.frames:
            self.num_frames = int(stream.frames)
        elif stream.duration is not None:
            self.num_frames = max(1, int(round(float(stream.duration * stream.time_base) * self.fps)))
        elif self._container.duration:
            self.num_frames = max(1, int(round(self._container.duration / 1e6 * self.fps)))
        else:
            self.num_frames = None

    def _first_time(self):
        """Presentation time of the first packet: index 0 (start_time is 0 in some AVIs whose first frame is not)."""
        stream = self._stream
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        try:
            for packet in self._container.demux(stream):
                if packet.pts is not None:
                    start = float(packet.pts * stream.time_base)
                    break
            self._container.seek(0)
        except av.FFmpegError as e:
            raise BadInputError(self.path, f"cannot read video packets ({e})") from None
        return start

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._container.close()

    def count_frames(self):
        """Decode the whole stream to count frames (only for files that do not say)."""
        self.num_frames = max(1, sum(1 for _ in self._frames(0.0)))
        return self.num_frames

    def _frames(self, from_time):
        """Decoded frames with monotonic timestamps in seconds, after seeking near ``from_time``."""
        stream = self._stream
        tb = stream.time_base
        self._seeked = from_time - self._start > 1.0
        if self._seeked:
            target = int((from_time - 0.5) / tb)
            try:
                self._container.seek(target, stream=stream, backward=True, any_frame=False)
            except av.FFmpegError:
                self._container.seek(0, stream=stream)
        elif self._rewind:
            self._container.seek(0)
        self._rewind = True
        last = -math.inf
        last_pts = last_dts = None
        faulty_pts = faulty_dts = 0
        try:
            for frame in self._container.decode(stream):
                # FFmpeg's best-effort timestamp: trust pts unless it went backwards more often
                # than dts (AVI with packed B-frames mislabels pts).
                if frame.pts is not None:
                    faulty_pts += last_pts is not None and frame.pts <= last_pts
                    last_pts = frame.pts
                if frame.dts is not None:
                    faulty_dts += last_dts is not None and frame.dts <= last_dts
                    last_dts = frame.dts
                use_pts = frame.pts is not None and (faulty_pts <= faulty_dts or frame.dts is None)
                ts = frame.pts if use_pts else frame.dts
                t = float(ts * tb) if ts is not None else last + 1.0 / self.fps
                # Decode order is presentation order: keep time monotonic.
                last = max(t, last + 1e-6)
                yield last, frame
        except av.FFmpegError as e:
            raise BadInputError(self.path, f"corrupt or truncated video ({e})") from None

    def read(self, indices, min_width=0, min_height=0):
        """{index: RGB uint8 array} for the distinct ``indices`` (grid frame numbers).

        Frames are scaled in the conversion when the video is at least twice the minimum size.
        """
        wanted = sorted(set(int(i) for i in indices))
        times = [self._start + i / self.fps for i in wanted]
        size = {}
        if min_width > 0 and min_height > 0 and self.width >= 2 * min_width and self.height >= 2 * min_height:
            factor = min(self.width / min_width, self.height / min_height)
            size = dict(width=int(math.ceil(self.width / factor)),
                        height=int(math.ceil(self.height / factor)), interpolation="AREA")
        out, k = {}, 0
        prev_t, prev = None, None
        half = 0.5 / self.fps
        for t, frame in self._frames(times[0]):
            if prev is None and not self._seeked and t > self._start:
                # Decoding from the top: index 0 is the first frame, whatever start_time says.
                times = [x + t - self._start for x in times]
                self._start = t
            while k < len(times) and t >= times[k] - half:
                # The nearest of this frame and the previous one to the requested time.
                use_prev = prev is not None and abs(prev_t - times[k]) < abs(t - times[k])
                chosen = prev if use_prev else frame
                out[wanted[k]] = self._convert(chosen, size)
                k += 1
            if k == len(times):
                break
            prev_t, prev = t, frame
        if k < len(times):
            if prev is None:
                raise BadInputError(self.path, "no decodable frames")
            if times[-1] - prev_t > max(1.0, 5.0 / self.fps):
                raise BadInputError(
                    self.path, f"truncated video: frames end at {prev_t:.2f}s, {times[-1]:.2f}s needed"
                )
            last = self._convert(prev, size)
            for i in wanted[k:]:
                out[i] = last
        return out

    def _convert(self, frame, size):
        try:
            return frame.to_ndarray(format="rgb24", threads=1, **size)
        except (av.FFmpegError, ValueError) as e:
            raise BadInputError(self.path, f"cannot convert frame ({e})") from None
