"""Real-browser fixtures: the hotline service as a subprocess on a free port (temp SQLite, demo data) and
Debian's Chromium driven by Playwright. Screenshots go to test-artifacts/ (git-ignored)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from callcenter.rig.local_ports import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "e2e-demo-password-1"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@dataclass
class Site:
    url: str
    env: dict[str, str]
    tmp: Path
    process: subprocess.Popen[bytes]


def hotline(env: dict[str, str], *args: str) -> str:
    exe = str(Path(sys.executable).with_name("hotline"))
    done = subprocess.run([exe, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def site_env(tmp: Path, port: int, **extra: str) -> dict[str, str]:
    config = tmp / "site.yaml"
    config.write_text("{}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update({"HOTLINE_CONFIG": str(config), "HOTLINE_DATABASE__URL": f"sqlite+aiosqlite:///{tmp}/e2e.db",
                "HOTLINE_DATA_DIR": str(tmp), "HOTLINE_HTTP__PORT": str(port),
                "HOTLINE_HTTP__PUBLIC_URL": f"http://127.0.0.1:{port}", "HOTLINE_SECURITY__DEMO_MODE": "true"})
    env.update(extra)
    return env


def start_site(tmp: Path, **extra: str) -> Site:
    port = free_port()
    env = site_env(tmp, port, **extra)
    hotline(env, "db", "upgrade")
    hotline(env, "demo", "seed", "--password", PASSWORD)
    exe = str(Path(sys.executable).with_name("hotline"))
    with (tmp / "serve.log").open("wb") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen([exe, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                                   cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"service exited: {(tmp / 'serve.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/login", timeout=2) as answer:
                if answer.status == 200:
                    return Site(url, env, tmp, process)
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("service did not answer within 30 s")


def stop_site(site: Site) -> None:
    site.process.terminate()
    try:
        site.process.wait(10)
    except subprocess.TimeoutExpired:
        site.process.kill()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    running = start_site(tmp_path_factory.mktemp("site"))
    yield running
    stop_site(running)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium (never a downloaded one). Playwright's launch() gives the browser a fresh, temporary
    --user-data-dir of its own (it refuses that flag in `args`); each test context is a separate profile."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (scripts/apt-packages.txt)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def shot(page: object, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)  # type: ignore[attr-defined]
    return path


def login(context: object, base: str, username: str) -> object:
    page = context.new_page()  # type: ignore[attr-defined]
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page


def ensure_clean(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
