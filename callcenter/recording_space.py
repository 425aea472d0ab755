"""Room for recordings: whether Asterisk's recording folder has the free space a call recording needs.

Why ask before recording: with the folder's file system full, Asterisk still answers the ARI record request and
later reports RecordingFinished (with a duration) for a file it never wrote (seen with a full tmpfs, Asterisk
20). The call row would then name a recording that does not exist. Checking first lets the call go on
unrecorded with the reason on the call.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

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
