"""`hotline geo …`: import, export, validate base data files and seed the Haiyan demo data."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncEngine
from tqdm import tqdm

from config.bootstrap import engine_for
from config.settings import ConfigError, load_settings
from ticketing.geo.crs import SYSTEMS, CrsError
from ticketing.geo.demo import seed_demo
from ticketing.geo.domain.features import KIND_NAMES, KINDS
from ticketing.geo.domain.validation import Checked
from ticketing.geo.formats import FormatError
from ticketing.geo.importer import ImportFailed, export_file, import_file, read_features, validate_file
from ticketing.geo.settings import GeoSettings

T = TypeVar("T")
KIND = click.Choice(KINDS)
CRS_HELP = f"坐标系：{', '.join(SYSTEMS)}，或EPSG:4326/4490/4549/4528"


def _run(work: Callable[[AsyncEngine, GeoSettings], Awaitable[T]]) -> T:
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None

    async def main() -> T:
        engine = engine_for(settings)
        try:
            return await work(engine, settings.geo)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _print_problems(checked: Checked | ImportFailed) -> None:
    for problem in checked.problems:
        mark = "错误" if problem.severity == "error" else "提醒"
        click.echo(f"[{mark}] {problem}", err=True)


@click.group("geo")
def geo_group() -> None:
    """单元网格、部件、道路与地址数据（CJ/T 213/214/215）。"""


@geo_group.command("import")
@click.argument("kind", type=KIND)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--crs", default="wgs84", show_default=True, help=CRS_HELP)
@click.option("--replace", is_flag=True, help="先删除该类型的全部已有数据（仍在同一事务中）")
def import_command(kind: str, file: Path, crs: str, replace: bool) -> None:
    """导入GeoJSON或Shapefile文件：全部成功或全部不写入。"""
    try:
        total = len(read_features(file, crs))
    except (FormatError, CrsError) as exc:
        raise click.ClickException(str(exc)) from None

    async def work(engine: AsyncEngine, settings: GeoSettings) -> int:
        with tqdm(total=total, unit="个", desc=f"导入{KIND_NAMES[kind]}", disable=total < 1000) as bar:
            return await import_file(engine, kind, file, crs=crs, cell_width=settings.cell_sequence_width,
                                     replace=replace, progress=bar.update)

    try:
        written = _run(work)
    except ImportFailed as exc:
        _print_problems(exc)
        raise click.ClickException(str(exc)) from None
    click.echo(f"已导入{KIND_NAMES[kind]}{written}个（重启服务或调用刷新后生效）")


@geo_group.command("export")
@click.argument("kind", type=KIND)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--crs", default="wgs84", show_default=True, help=CRS_HELP)
def export_command(kind: str, file: Path, crs: str) -> None:
    """导出为GeoJSON（.geojson）或Shapefile（.shp）。"""
    try:
        count = _run(lambda engine, _settings: export_file(engine, kind, file, crs=crs))
    except (FormatError, CrsError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"已导出{KIND_NAMES[kind]}{count}个到{file}")


@geo_group.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=KIND, help="数据类型（默认按文件名判断）")
@click.option("--crs", default="wgs84", show_default=True, help=CRS_HELP)
@click.option("--cell-width", type=click.Choice(["2", "3"]), default="2", show_default=True,
              help="单元网格顺序码位数")
def validate_command(file: Path, kind: str | None, crs: str, cell_width: str) -> None:
    """检查文件（编码、重复、几何、网格重叠与缝隙），不写入数据库。"""
    try:
        checked = validate_file(file, kind, crs=crs, cell_width=int(cell_width))
    except (FormatError, CrsError) as exc:
        raise click.ClickException(str(exc)) from None
    _print_problems(checked)
    if not checked.ok:
        raise click.ClickException(f"检查未通过：{sum(p.severity == 'error' for p in checked.problems)}个错误")
    click.echo(f"检查通过：{len(checked.objects)}个要素")


@geo_group.command("seed-demo")
def seed_demo_command() -> None:
    """用海盐县武原街道演示数据（演示数据）替换全部地理基础数据。"""

    async def work(engine: AsyncEngine, settings: GeoSettings) -> dict[str, int]:
        with tqdm(unit="个", desc="写入演示数据") as bar:
            return await seed_demo(engine, settings, progress=bar.update)

    counts = _run(work)
    click.echo("已写入演示数据：" + "，".join(f"{KIND_NAMES[k]}{n}个" for k, n in counts.items()))
