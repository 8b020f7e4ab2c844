"""Where the v3.0 writer places files: chunk/file numbering and file-size caps (the paths themselves are
the dataset module's)."""

from __future__ import annotations

from lerobot_local.dataset import (  # noqa: F401 - the writer reads the layout through this module
    CHUNK_FILE,
    DATA_PATH,
    EPISODES_PATH,
    INFO_PATH,
    STATS_PATH,
    TASKS_PATH,
    V30,
    VIDEO_PATH,
)

FILES_PER_CHUNK = 1000
DEFAULT_DATA_FILE_SIZE_MB = 100
DEFAULT_VIDEO_FILE_SIZE_MB = 200


def next_chunk_file(
    chunk_index: int, file_index: int, files_per_chunk: int = FILES_PER_CHUNK
) -> tuple[int, int]:
    """The (chunk, file) pair after the given one: files fill a chunk, then a new chunk starts."""
    if file_index + 1 >= files_per_chunk:
        return chunk_index + 1, 0
    return chunk_index, file_index + 1


class FilePlacer:
    """Decides which (chunk, file) each episode goes to, starting a new file when the cap would be passed."""

    def __init__(self, cap_mb: float) -> None:
        self.cap_bytes = cap_mb * 1024 * 1024
        self.chunk_index, self.file_index, self.used_bytes = 0, 0, 0

    def place(self, size: int) -> bool:
        """Place an episode of ``size`` source bytes; True when it starts a new file (the last is full)."""
        new_file = self.used_bytes > 0 and self.used_bytes + size > self.cap_bytes
        if new_file:
            self.chunk_index, self.file_index = next_chunk_file(self.chunk_index, self.file_index)
            self.used_bytes = 0
        self.used_bytes += size
        return new_file
