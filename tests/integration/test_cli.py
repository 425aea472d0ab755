"""The hotline CLI against a real SQLite database: migrate, seed, users, tokens, cases, config check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from config.cli import main


@pytest.fixture
def cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    site = tmp_path / "site.yaml"  # an empty site file: a developer's config/local.yaml must not leak in
    site.write_text("{}\n")
    env = {"HOTLINE_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path}/cli.db", "HOTLINE_DATA_DIR": str(tmp_path),
           "HOTLINE_CONFIG": str(site)}
    runner = CliRunner()

    def run(*args: str, ok: bool = True, demo: bool = False):  # type: ignore[no-untyped-def]
        extra = {"HOTLINE_SECURITY__DEMO_MODE": "true"} if demo else {}
        result = runner.invoke(main, list(args), env={**env, **extra}, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return run


def test_db_upgrade_is_idempotent_and_seed_loads_reference_once(cli) -> None:  # type: ignore[no-untyped-def]
    cli("db", "upgrade")
    cli("db", "upgrade")
    first = json.loads(cli("db", "seed").stdout)
    again = json.loads(cli("db", "seed").stdout)
    assert first == {"departments": 18, "categories": 111} and again == {"departments": 0, "categories": 0}


def test_demo_seed_is_refused_outside_demo_mode(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    refused = cli("demo", "seed", ok=False)
    assert refused.exit_code != 0 and "演示模式" in refused.output
    assert not (tmp_path / "demo-password").exists()


def test_demo_seed_creates_users_with_a_generated_password(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = json.loads(cli("demo", "seed", demo=True).stdout.splitlines()[0])
    assert out["users"] == 25 and out["cases"] == 32 and out["geo"]
    password = (tmp_path / "demo-password").read_text().strip()
    assert password.startswith("demo-") and len(password) > 10
    assert oct((tmp_path / "demo-password").stat().st_mode & 0o777) == "0o600"
    again = json.loads(cli("demo", "seed", demo=True).stdout.splitlines()[0])
    assert (again["users"], again["cases"]) == (0, 0)  # idempotent


def test_user_token_and_case_show(cli) -> None:  # type: ignore[no-untyped-def]
    cli("db", "upgrade")
    cli("db", "seed")
    cli("user", "add", "lead07", "--role", "lead", "--name", "值班长七", "--password", "a-long-secret-1")
    bad = cli("user", "add", "dept-x", "--role", "department", "--department", "nope", "--password",
              "a-long-secret-1", ok=False)
    assert bad.exit_code != 0 and "未知部门" in bad.output
    token = cli("token", "create", "lead07").stdout.strip()
    assert token.startswith("hl_") and len(token) > 30
    missing = cli("token", "create", "nobody", ok=False)
    assert missing.exit_code != 0 and "不存在" in missing.output
    shown = cli("case", "show", "202611230001", ok=False)
    assert shown.exit_code != 0 and "不存在" in shown.output and "Traceback" not in shown.output


def test_config_check_names_bad_keys(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    result = cli("config", "check")
    assert "configuration OK" in result.output and '"port": 8080' in result.stdout
    runner = CliRunner()
    bad = runner.invoke(main, ["config", "check"], env={"HOTLINE_HTTP__PORT": "nope"})
    assert bad.exit_code != 0 and "http.port" in bad.output


def test_calendar_set_enters_a_holiday(cli) -> None:  # type: ignore[no-untyped-def]
    cli("db", "upgrade")
    assert "2027-01-01: holiday" in cli("calendar", "set", "2027-01-01", "holiday", "--name", "元旦").stdout
    assert cli("calendar", "set", "2027-13-01", "holiday", ok=False).exit_code != 0


def test_tokens_are_listed_and_revoked_and_users_deactivated(cli) -> None:  # type: ignore[no-untyped-def]
    cli("db", "upgrade")
    cli("db", "seed")
    cli("user", "add", "agent07", "--role", "agent", "--password", "a-long-secret-1")
    cli("token", "create", "agent07", "--label", "脚本")
    listed = cli("token", "list", "agent07").stdout.strip().splitlines()
    assert len(listed) == 1 and "\tagent07\tactive\t" in listed[0] and listed[0].endswith("脚本")
    token_id = listed[0].split("\t")[0]
    assert "revoked" in cli("token", "revoke", token_id).stdout
    assert "\trevoked\t" in cli("token", "list").stdout
    assert cli("token", "revoke", token_id, ok=False).exit_code != 0
    cli("token", "create", "agent07")
    assert "deactivated" in cli("user", "deactivate", "agent07").stdout
    assert "\tactive\t" not in cli("token", "list", "agent07").stdout  # deactivation revoked the new one
    assert "activated" in cli("user", "activate", "agent07").stdout


def test_config_check_warns_about_sip_beyond_loopback(tmp_path: Path) -> None:
    site = tmp_path / "exposed.yaml"
    site.write_text(
        "telephony:\n"
        "  transports:\n"
        "    - {name: lan, protocol: udp, bind: 10.20.0.5, port: 5062}\n"
        "  agent_transport: lan\n"
        "  trunk_registration: {server: '192.0.2.10:5060', username: '057382012319', password: carrier-secret}\n")
    env = {"HOTLINE_DATA_DIR": str(tmp_path), "HOTLINE_CONFIG": str(site)}
    result = CliRunner().invoke(main, ["config", "check"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "警告：SIP 传输 lan 监听 10.20.0.5:5062" in result.stderr
    assert "carrier-secret" not in result.output
    quiet = tmp_path / "quiet.yaml"
    quiet.write_text("{}\n")
    clean = CliRunner().invoke(main, ["config", "check"], env={**env, "HOTLINE_CONFIG": str(quiet)})
    assert "警告" not in clean.stderr


def test_asterisk_certs_makes_a_local_ca_and_a_server_certificate(tmp_path: Path) -> None:
    import subprocess

    out = tmp_path / "tls"
    result = CliRunner().invoke(main, ["asterisk", "certs", "--address", "10.20.0.5", "--name", "hotline.local",
                                       "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(out / "ca.crt"), str(out / "asterisk.crt")],
                            capture_output=True, text=True, check=False)
    assert verify.returncode == 0, verify.stderr
    sans = subprocess.run(["openssl", "x509", "-in", str(out / "asterisk.crt"), "-noout", "-ext", "subjectAltName"],
                          capture_output=True, text=True, check=True).stdout
    assert "IP Address:10.20.0.5" in sans and "DNS:hotline.local" in sans
    assert oct((out / "asterisk.key").stat().st_mode & 0o777) == "0o600"
