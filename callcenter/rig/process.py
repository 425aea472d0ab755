"""Start, stop and inspect one Asterisk instance running in the chroot.

Asterisk runs in a private mount namespace (unshare + chroot) so its /proc mount never shows on the host.
We keep its pid under the state folder and only ever stop that pid.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from callcenter.rig.build import RigError, build_root, is_built
from callcenter.rig.confgen import ari_password, in_root, instance_dirs, write_config
from callcenter.settings import TelephonySettings

# Children started by this process, kept so they are waited for (and not garbage-collected while running).
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class RigStatus:
    built: bool
    pid: int | None
    running: bool
    ari_ok: bool
    version: str | None


def pid_file(tel: TelephonySettings) -> Path:
    return tel.state_path("asterisk.pid")


def _read_pid(tel: TelephonySettings) -> int | None:
    try:
        return int(pid_file(tel).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def ari_info(tel: TelephonySettings, timeout: float = 1.0) -> dict[str, object] | None:
    """GET /ari/asterisk/info with the instance's credentials, or None when ARI does not answer."""
    token = base64.b64encode(f"{tel.ari_user}:{ari_password(tel)}".encode()).decode()
    request = urllib.request.Request(
        f"{tel.ari_url}/asterisk/info", headers={"Authorization": f"Basic {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def setup(tel: TelephonySettings, *, rebuild: bool = False) -> bool:
    """Build the chroot if missing (or forced) and write this instance's configuration into it."""
    built = build_root(tel.root, force=rebuild)
    write_config(tel)
    return built


def _command(tel: TelephonySettings) -> list[str]:
    root = str(tel.root)
    inner = (
        f"mount -t proc proc {root}/proc && exec chroot {root} /usr/sbin/asterisk -f -n "
        f"-C {tel.conf_dir}/asterisk.conf"
    )
    return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", inner]


def start(tel: TelephonySettings) -> int:
    """Start Asterisk (setting up first when needed), wait until ARI answers; return its pid."""
    if _alive(_read_pid(tel)):
        raise RigError(f"Asterisk instance {tel.instance!r} already runs (pid {_read_pid(tel)})")
    if not is_built(tel.root):
        setup(tel)
    else:
        write_config(tel)
    log = open(tel.state_path("asterisk.out"), "ab")  # noqa: SIM115 (handed to the child)
    with log:
        child = subprocess.Popen(
            _command(tel), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _children[child.pid] = child
    pid_file(tel).write_text(f"{child.pid}\n", encoding="utf-8")
    deadline = time.monotonic() + tel.start_timeout_s
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RigError(f"Asterisk exited with {child.returncode}; see {tel.state_path('asterisk.out')}")
        if ari_info(tel, timeout=0.5) is not None:
            return child.pid
        time.sleep(0.1)
    raise RigError(f"ARI did not answer on {tel.ari_url} within {tel.start_timeout_s} s")


def stop(tel: TelephonySettings, timeout: float = 10.0) -> bool:
    """Stop the instance we started: `core stop now`, then its pid. Return False if it was not running."""
    pid = _read_pid(tel)
    if not _alive(pid):
        pid_file(tel).unlink(missing_ok=True)
        return False
    assert pid is not None
    subprocess.run(
        ["chroot", str(tel.root), "/usr/sbin/asterisk", "-C", f"{tel.conf_dir}/asterisk.conf",
         "-rx", "core stop now"],
        capture_output=True, timeout=timeout, check=False,
    )
    if not _wait_gone(pid, timeout / 2):
        os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, timeout / 2):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 2.0)
    pid_file(tel).unlink(missing_ok=True)
    return True


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _reap(pid: int) -> None:
    child = _children.get(pid)
    if child is not None:
        if child.poll() is not None:
            del _children[pid]
        return
    # Not our child when another command started it: nothing to reap then.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def status(tel: TelephonySettings) -> RigStatus:
    pid = _read_pid(tel)
    running = _alive(pid)
    info = ari_info(tel) if running else None
    version = None
    if info and isinstance(info.get("system"), dict):
        version = str(info["system"].get("version"))
    return RigStatus(is_built(tel.root), pid, running, info is not None, version)


def asterisk_cli(tel: TelephonySettings, command: str, timeout: float = 10.0) -> str:
    """Run one Asterisk CLI command against the running instance (used by tests and diagnostics)."""
    result = subprocess.run(
        ["chroot", str(tel.root), "/usr/sbin/asterisk", "-C", f"{tel.conf_dir}/asterisk.conf",
         "-rx", command],
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    return result.stdout


def remove_instance(tel: TelephonySettings) -> None:
    """Delete a stopped instance's folders inside the shared root (tests and benchmarks use throwaway ones)."""
    import shutil

    if _alive(_read_pid(tel)):
        raise RigError(f"instance {tel.instance!r} still runs")
    for inner in instance_dirs(tel).values():
        shutil.rmtree(in_root(tel.root, inner), ignore_errors=True)


def apply_config(tel: TelephonySettings) -> bool:
    """Rewrite the instance's configuration and, when it runs, reload res_pjsip (new passwords, ACLs).
    Returns whether a running Asterisk was reloaded."""
    write_config(tel)
    if not _alive(_read_pid(tel)):
        return False
    asterisk_cli(tel, "module reload res_pjsip.so")
    return True
