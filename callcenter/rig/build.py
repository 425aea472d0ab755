"""Build the Debian sid root file system that Asterisk runs in (see docs/telephony.md).

Debian 12 ships no Asterisk; sid does, but needs a newer libc than the host, hence a small chroot built
with mmdebstrap. The mirror is read from the host's apt configuration at run time, never hard-coded.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

MARKER = ".hotline12319-complete"
PACKAGES = ("asterisk", "asterisk-core-sounds-en-wav")
SOURCES = Path("/etc/apt/sources.list.d/debian.sources")


class RigError(RuntimeError):
    """The Asterisk rig could not be built, configured, started or stopped."""


def host_mirror(sources: Path = SOURCES) -> str:
    """The first `URIs:` of the host's deb822 Debian sources (the same mirror apt already uses)."""
    try:
        for line in sources.read_text(encoding="utf-8").splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    except OSError as exc:
        raise RigError(f"cannot read {sources}: {exc}") from exc
    raise RigError(f"no URIs: line in {sources}")


def is_built(root: Path) -> bool:
    return (root / MARKER).is_file()


def build_root(root: Path, *, force: bool = False) -> bool:
    """Build the chroot at `root` unless it is complete already; return True when it was built now."""
    if is_built(root) and not force:
        return False
    if shutil.which("mmdebstrap") is None:
        raise RigError("mmdebstrap is missing: apt-get install mmdebstrap (see scripts/apt-packages.txt)")
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    command = [
        "mmdebstrap", "--variant=apt", "--quiet",
        "--aptopt=Acquire::Check-Valid-Until \"false\"",
        "--keyring=/usr/share/keyrings/debian-archive-keyring.gpg",
        "--dpkgopt=path-exclude=/usr/share/doc/*",
        "--dpkgopt=path-exclude=/usr/share/man/*",
        "--dpkgopt=path-exclude=/usr/share/locale/*",
        "--include=" + ",".join(PACKAGES),
        "sid", str(partial), f"deb {host_mirror()} sid main",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RigError(f"mmdebstrap failed ({result.returncode}):\n{result.stderr[-3000:]}")
    # Swap in atomically-ish: a half-built root never carries the marker.
    shutil.rmtree(root, ignore_errors=True)
    partial.rename(root)
    (root / MARKER).write_text("asterisk root built by hotline asterisk setup\n", encoding="utf-8")
    return True


def module_dir(root: Path) -> str:
    """Asterisk's module folder inside the chroot (multiarch path differs per architecture)."""
    found = sorted(root.glob("usr/lib/*/asterisk/modules")) or sorted(root.glob("usr/lib/asterisk/modules"))
    if not found:
        raise RigError(f"no Asterisk modules under {root}/usr/lib")
    return "/" + str(found[0].relative_to(root))
