"""Concatenate per-episode mp4 files into one file by stream copy (no re-encoding), with exact offsets.

Each episode's packets are shifted by an integer number of ticks of the stream time base, so episode start
times are exact rationals and never accumulate float error, however many episodes a file holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from lerobot_local.convert.errors import ConversionError


@dataclass(frozen=True)
class StreamInfo:
    """What the writer needs to know about one episode's video stream (read without decoding)."""

    path: Path
    codec: str
    width: int
    height: int
    pix_fmt: str | None
    time_base: Fraction
    frames: int
    end_ticks: int  # pts + duration of the last packet, in time_base ticks
    first_dts: int
    rate: Fraction | None

    def same_encoding(self, other: StreamInfo) -> bool:
        return (self.codec, self.width, self.height, self.pix_fmt, self.time_base) == (
            other.codec,
            other.width,
            other.height,
            other.pix_fmt,
            other.time_base,
        )


@contextmanager
def episode_video(path: Path, fps: int) -> Iterator[tuple[StreamInfo, av.container.InputContainer]]:
    """Open one episode's mp4 once: its stream info (checked against ``fps``) and the open container.

    Opening an mp4 (FFmpeg probes its streams) costs more than reading its packet headers, so the writer
    reads the stream info and then copies the packets from the same open file.
    """
    if not path.is_file():
        raise ConversionError(path, "is missing", "restore the episode's video file from your backup")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise _unreadable(path, exc) from exc
    with container:
        yield _stream_info(container, path, fps), container


def probe(path: Path, fps: int) -> StreamInfo:
    """Read the packet headers of ``path``'s first video stream and check it against ``fps``."""
    with episode_video(path, fps) as (info, _):
        return info


def _unreadable(path: Path, exc: Exception) -> ConversionError:
    return ConversionError(
        path,
        f"cannot be read as a video ({exc})",
        "restore the file from your backup or re-encode the episode",
    )


def _stream_info(container: av.container.InputContainer, path: Path, fps: int) -> StreamInfo:
    try:
        if not container.streams.video:
            raise ConversionError(path, "has no video stream", "re-record or re-encode this episode")
        stream = container.streams.video[0]
        if stream.time_base is None:
            raise ConversionError(
                path, "has a video stream without a time base", "restore or re-encode the file"
            )
        tb = Fraction(stream.time_base.numerator, stream.time_base.denominator)
        frames, end, first_dts, prev_pts = 0, 0, None, None
        default_duration = int(1 / (tb * fps)) if tb * fps else 0
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            frames += 1
            duration = packet.duration or default_duration
            end = max(end, packet.pts + duration)
            if first_dts is None:
                first_dts = packet.dts if packet.dts is not None else packet.pts
            prev_pts = packet.pts
        ctx = stream.codec_context
        if ctx is None or stream.time_base is None:  # a header FFmpeg could not make sense of
            raise ConversionError(path, "has a video stream without a codec", "restore or re-encode the file")
        rate = stream.average_rate or stream.guessed_rate
        info = StreamInfo(
            path=path,
            codec=ctx.name,
            width=ctx.width,
            height=ctx.height,
            pix_fmt=ctx.pix_fmt,
            time_base=tb,
            frames=frames,
            end_ticks=end,
            first_dts=first_dts or 0,
            rate=Fraction(rate) if rate else None,
        )
    except ConversionError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, TypeError, AttributeError, ZeroDivisionError) as exc:
        raise _unreadable(path, exc) from exc  # PyAV on a damaged header: any of these
    if frames == 0 or prev_pts is None:
        raise ConversionError(path, "holds no video frames", "restore the file or re-record the episode")
    if info.rate is not None and abs(float(info.rate) - fps) > 0.01 * fps:
        raise ConversionError(
            path,
            f"runs at {float(info.rate):.3f} fps but meta/info.json says fps={fps}",
            "correct 'fps' in meta/info.json, or re-encode the video at that rate",
        )
    return info


@dataclass
class EpisodeSpan:
    """Where one episode landed in the concatenated file, in ticks of ``time_base``."""

    start_ticks: int
    end_ticks: int
    time_base: Fraction

    @property
    def from_timestamp(self) -> float:
        return float(self.start_ticks * self.time_base)

    @property
    def to_timestamp(self) -> float:
        return float(self.end_ticks * self.time_base)


class VideoConcatenator:
    """Append episodes of one camera to a new mp4 file by copying their packets."""

    def __init__(self, path: Path, template: StreamInfo) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.template = template
        self._out = av.open(str(path), "w", format="mp4")
        self._stream = None
        self._offset = 0  # next free tick
        self._last_dts: int | None = None

    def append(self, info: StreamInfo, container: av.container.InputContainer) -> EpisodeSpan:
        """Copy every packet of ``info.path`` (open as ``container``) after what is already written."""
        if not info.same_encoding(self.template):
            raise ConversionError(
                info.path,
                f"is encoded differently ({info.codec} {info.width}x{info.height} "
                f"{info.pix_fmt}, time base {info.time_base}) from "
                f"{self.template.path.name} ({self.template.codec} {self.template.width}x"
                f"{self.template.height} {self.template.pix_fmt}, time base "
                f"{self.template.time_base})",
                "re-encode the camera's episodes with the same settings before converting",
            )
        offset = self._offset
        if self._last_dts is not None and offset + info.first_dts <= self._last_dts:
            offset = self._last_dts - info.first_dts + 1  # keep decode timestamps strictly increasing
        src = container.streams.video[0]
        if self._stream is None:
            self._stream = self._out.add_stream_from_template(src, opaque=True)
            self._stream.time_base = src.time_base
        copied = 0
        try:
            container.seek(info.first_dts, backward=True, stream=src)  # back to the first packet
            for packet in container.demux(src):
                if packet.pts is None:
                    continue
                packet.pts += offset
                packet.dts = (packet.dts if packet.dts is not None else packet.pts - offset) + offset
                self._last_dts = packet.dts
                packet.stream = self._stream
                self._out.mux(packet)
                copied += 1
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise _unreadable(info.path, exc) from exc
        if copied != info.frames:
            raise ConversionError(
                info.path,
                f"gave {copied} packets on the second read but {info.frames} on the first",
                "check the disk and the file (it may be changing while it is converted), then retry",
            )
        span = EpisodeSpan(offset, offset + info.end_ticks, info.time_base)
        self._offset = span.end_ticks
        return span

    def close(self) -> None:
        self._out.close()
