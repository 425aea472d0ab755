"""`hotline asterisk setup|start|stop|status`: the Asterisk rig on loopback (registered by config/cli.py)."""

from __future__ import annotations

from pathlib import Path

import click

from callcenter.rig import process
from callcenter.rig.build import RigError
from callcenter.rig.certs import issue, local_ca
from callcenter.settings import TelephonySettings
from config.settings import load_settings


def telephony_settings() -> TelephonySettings:
    """The `telephony` section of the loaded settings."""
    return load_settings().telephony


@click.group("asterisk")
def asterisk_group() -> None:
    """Asterisk 电话平台（本机回环）：搭建、启动、停止、状态。"""


@asterisk_group.command("setup")
@click.option("--rebuild", is_flag=True, help="重新构建 Asterisk 根文件系统（即使缓存已完整）。")
def setup_command(rebuild: bool) -> None:
    """构建 Debian sid 根文件系统（已缓存则跳过）并生成 Asterisk 配置。"""
    tel = telephony_settings()
    try:
        built = process.setup(tel, rebuild=rebuild)
    except RigError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{'已构建' if built else '已缓存'}：{tel.root}")
    click.echo(f"配置已写入：{tel.root}{tel.conf_dir}")


@asterisk_group.command("start")
def start_command() -> None:
    """启动 Asterisk（私有挂载命名空间 + chroot），等待 ARI 就绪。"""
    tel = telephony_settings()
    try:
        pid = process.start(tel)
    except RigError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Asterisk 已启动，pid {pid}，ARI {tel.ari_url}")


@asterisk_group.command("stop")
def stop_command() -> None:
    """停止由本工具启动的 Asterisk 实例。"""
    tel = telephony_settings()
    click.echo("Asterisk 已停止" if process.stop(tel) else "Asterisk 未在运行")


@asterisk_group.command("status")
def status_command() -> None:
    """显示 Asterisk 实例状态。"""
    tel = telephony_settings()
    state = process.status(tel)
    click.echo(f"根文件系统：{'完整' if state.built else '缺失'}（{tel.root}）")
    click.echo(f"进程：{'运行中 pid ' + str(state.pid) if state.running else '未运行'}")
    click.echo(f"ARI：{'可用 ' + (state.version or '') if state.ari_ok else '不可用'}（{tel.ari_url}）")
    if not state.running:
        raise SystemExit(3)


@asterisk_group.command("certs")
@click.option("--address", "addresses", multiple=True, required=True, help="服务器地址（证书的 IP SAN，可重复）。")
@click.option("--name", "names", multiple=True, help="服务器域名（证书的 DNS SAN，可重复）。")
@click.option("--out", "folder", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="输出目录：ca.crt/ca.key（本地 CA，已有则沿用）与 asterisk.crt/asterisk.key。")
def certs_command(addresses: tuple[str, ...], names: tuple[str, ...], folder: Path) -> None:
    """为演示环境生成本地 CA 及 Asterisk 的 TLS 证书（正式环境请使用本单位的证书）。"""
    try:
        ca = local_ca(folder)
        server = issue(ca, folder, "asterisk", list(addresses), names=list(names))
    except RigError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"CA 证书：{ca.cert}（请在坐席电脑/话机上设为受信任）")
    click.echo(f"服务器证书：{server.cert}，私钥：{server.key}")
    click.echo("在 telephony.transports 的 TLS 传输中设置 cert_file / key_file 为以上路径。")
