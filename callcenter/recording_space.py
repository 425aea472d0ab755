"""Room for recordings: whether Asterisk's recording folder has the free space a call recording needs.

Why ask before recording: with the folder's file system full, Asterisk still answers the ARI record request and
later reports RecordingFinished (with a duration) for a file it never wrote (seen with a full tmpfs, Asterisk
20). The call row would then name a recording that does not exist. Checking first lets the call go on
unrecorded with the reason on the call.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from callcenter.rig.confgen import recordings_dir
from callcenter.settings import TelephonySettings

log = logging.getLogger(__name__)


def short_of_space(folder: Path, min_free_mb: int) -> int | None:
    """The free bytes in `folder` when fewer than `min_free_mb` MiB, else None (also when it cannot be told:
    a folder not yet created or not on this host is no reason to stop recording)."""
    try:
        stat = os.statvfs(folder)
    except OSError as exc:
        log.debug("free space of %s unknown: %s", folder, exc)
        return None
    free = stat.f_bavail * stat.f_frsize
    return free if free < min_free_mb * 1024 * 1024 else None


WAV_HEADER_BYTES = 44  # a WAV file of this size or less holds no audio


@dataclass(frozen=True)
class RecordingRoom:
    """Asterisk's recording folder as seen from here, for the IVR's recordings (a caller's description, a
    voice message, a survey reason): is there room to record, and is a finished recording really there."""

    folder: Path
    min_free_mb: int

    def short(self) -> int | None:
        """Free bytes when fewer than `min_free_mb` MiB (do not record), else None."""
        return short_of_space(self.folder, self.min_free_mb)

    def missing(self, name: str) -> bool:
        """True when the folder is on this host and the finished recording `name` is not in it or holds no
        audio (Asterisk reports a recording finished on a full disk without having written it)."""
        if not self.folder.is_dir():
            return False
        try:
            return (self.folder / name).stat().st_size <= WAV_HEADER_BYTES
        except FileNotFoundError:
            return True


def room_of(tel: TelephonySettings) -> RecordingRoom:
    return RecordingRoom(recordings_dir(tel), tel.recording_min_free_mb)
