"""Photos of problems and results: upload (POST /api/v1/photos), original and thumbnail (GET /photos/{id}).

The image type is decided by the content (Pillow), never by the file name or the declared type; only JPEG,
PNG and WebP are kept. Files live under settings.data_path("photos")/<2 hex>/<id>.<ext> with a JPEG thumbnail
beside them.

Who may read a photo, the one rule (`may_read_photo`; docs/security.md has the table):
- the user who uploaded it, always; agents, shift leads and dispatchers, always (they work every case);
  leaders read them too (reading is all a leader does);
- a department: photos its own users uploaded, and the photos of a case that is or was dispatched to it
  (ticketing/queries.py `department_may_read`, the rule of the case page) — the 上报 and 核实 photos are what it
  needs to find the problem;
- an inspector: the photos of a case it holds a 核实/核查 task on or answered one (the task's assignee), or
  with such a task waiting in the pool; an inspector whose task was reassigned to another no longer does;
- nobody else (administrators manage accounts and data, not cases; 403).
A case's photos are read through the case: `/photos/{id}?case={case_no}`, and only photos that case names (in
its history or its web report) — the case pages link them so. The public never reads /photos: Open311 serves a
case's photo under its own privacy rule (web/api/open311.py `media`), which this module does not widen.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import json
import logging
import uuid
import warnings
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web
from PIL import Image, UnidentifiedImageError
from sqlalchemy import delete, func, insert, select

from core.accounts import User
from core.db.engine import write_transaction
from core.db.timeutil import to_db
from core.errors import DomainError, Forbidden, RateLimited
from ticketing.domain.model import RequestKind, Role
from ticketing.exchange.attachments import ImageRefused, StorageFull, StoredImage
from web.auth import require_user
from web.errors import BAD_MULTIPART, ApiError, multipart_reader
from web.json import json_response
from web.keys import CLOCK, ENGINE, SETTINGS
from web.openapi import add_routes, operation
from web.tables import photos, public_reports

MAX_PHOTO_BYTES = 8 * 1024 * 1024  # per file; phones send 2-6 MB JPEGs
MAX_PIXELS = 40_000_000  # refuses decompression bombs long before Pillow's own limit
MAX_FILES = 20
PHOTOS_PER_DAY = 300  # per user: a busy inspector takes a few dozen a day
THUMB_SIZE = (320, 320)
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
UPLOAD_ROLES = (Role.DEPARTMENT, Role.INSPECTOR, Role.AGENT, Role.LEAD, Role.DISPATCHER)
READ_ALL_ROLES = frozenset({Role.AGENT, Role.LEAD, Role.DISPATCHER, Role.LEADER})
TASK_KINDS = (RequestKind.VERIFICATION.value, RequestKind.CHECK.value)  # an inspector's tasks: 核实, 核查
FULL = (errno.ENOSPC, errno.EDQUOT)  # no space left on the device; the user's or group's quota used up
log = logging.getLogger("hotline.web")


UPLOAD_DOC = {
    "schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "array", "minItems": 1, "maxItems": MAX_FILES,
                 "items": {"type": "string", "format": "binary"},
                 "description": "JPEG、PNG 或 WebP 图片（按内容识别），每张不超过 8 MB；字段名 file 或 photos"}}},
    "encoding": {"file": {"contentType": "image/jpeg, image/png, image/webp"}},
}


class PhotoRejected(DomainError):
    code = "photo_rejected"
    status = 415


class PhotoTooLarge(DomainError):
    code = "photo_too_large"
    status = 413


class UnknownPhoto(DomainError):
    code = "unknown_photo"
    status = 422


class PhotoStorageFull(DomainError):
    """The photo folder's file system is full: 507 Insufficient Storage, nothing kept (RFC 4918 §11.5)."""

    code = "storage_full"
    status = 507


@dataclass(frozen=True, slots=True)
class StoredPhoto:
    id: str
    content_type: str
    bytes: int
    width: int
    height: int

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "content_type": self.content_type, "bytes": self.bytes, "width": self.width,
                "height": self.height, "url": f"/photos/{self.id}", "thumb_url": f"/photos/{self.id}/thumb"}


def _inspect(data: bytes) -> tuple[str, int, int]:
    """The image format and size, from the content; PhotoRejected for anything else."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt, (width, height) = image.format or "", image.size
                if width * height > MAX_PIXELS:
                    raise PhotoRejected("图片像素过大，请压缩后再上传")
                image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombWarning,
            Image.DecompressionBombError) as exc:
        raise PhotoRejected("文件不是可识别的图片（仅支持 JPEG、PNG、WebP）") from exc
    if fmt not in FORMATS:
        raise PhotoRejected(f"不支持的图片格式 {fmt or '未知'}（仅支持 JPEG、PNG、WebP）")
    return fmt, width, height


def _files(folder: Path, photo_id: str, ext: str) -> tuple[Path, Path]:
    return folder / f"{photo_id}.{ext}", folder / f"{photo_id}.thumb.jpg"


def _write_files(folder: Path, photo_id: str, ext: str, data: bytes) -> None:
    """Write the original and its thumbnail, or neither: a half-written pair (disk full after the original,
    or in the middle of it) is removed before the error goes up."""
    original, thumb_path = _files(folder, photo_id, ext)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        original.write_bytes(data)
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail(THUMB_SIZE)
            thumb = image.convert("RGB")
            thumb.save(thumb_path, "JPEG", quality=80)
    except BaseException:
        _remove_files(folder, photo_id, ext)
        raise


def _remove_files(folder: Path, photo_id: str, ext: str) -> None:
    for path in _files(folder, photo_id, ext):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def photo_folder(app: web.Application, photo_id: str) -> Path:
    return app[SETTINGS].data_path("photos", photo_id[:2])


async def check_quota(app: web.Application, user: User, adding: int = 1) -> None:
    """At most PHOTOS_PER_DAY photos per user in any 24 hours (429): a stolen account cannot fill the disk."""
    since = to_db(app[CLOCK]() - timedelta(days=1))
    async with app[ENGINE].connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(photos).where(
            photos.c.uploaded_by == user.username, photos.c.created_at >= since))).scalar_one()
    if count + adding > PHOTOS_PER_DAY:
        raise RateLimited(f"每人 24 小时内最多上传 {PHOTOS_PER_DAY} 张照片")


async def save_photo(app: web.Application, user: User, data: bytes) -> StoredPhoto:
    """Check, store and register one uploaded image; returns its id for `submit_result` photos."""
    await check_quota(app, user)
    return await store_photo(app, data, uploaded_by=user.username, role=user.role.value,
                             department_code=user.department_code)


async def store_photo(app: web.Application, data: bytes, *, uploaded_by: str, role: str,
                      department_code: str | None) -> StoredPhoto:
    """Check, store and register one image (no quota: the caller decides who may store how many)."""
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoTooLarge(f"单张图片不能超过 {MAX_PHOTO_BYTES // (1024 * 1024)} MB")
    if not data:
        raise PhotoRejected("上传的文件为空")
    fmt, width, height = await asyncio.to_thread(_inspect, data)
    content_type, ext = FORMATS[fmt]
    photo_id = uuid.uuid4().hex
    folder = photo_folder(app, photo_id)
    try:
        await asyncio.to_thread(_write_files, folder, photo_id, ext, data)
    except OSError as exc:
        if exc.errno not in FULL:
            raise
        log.error("photo storage full (%s): %s", folder.parent, exc.strerror)
        raise PhotoStorageFull("照片存储空间已满，本张照片未保存，请联系管理员清理空间后重试") from None
    try:
        async with write_transaction(app[ENGINE]) as conn:
            await conn.execute(insert(photos).values(
                id=photo_id, uploaded_by=uploaded_by, uploaded_role=role,
                department_code=department_code, content_type=content_type, bytes=len(data), width=width,
                height=height, created_at=to_db(app[CLOCK]())))
    except BaseException:  # no row, no files: a photo nobody can reference must not use up the disk
        await asyncio.to_thread(_remove_files, folder, photo_id, ext)
        raise
    return StoredPhoto(photo_id, content_type, len(data), width, height)


class ExchangePhotoStore:
    """The photo storage as the exchange's `ImageStore` port: 12345 attachments become photos like uploads."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    async def store_image(self, data: bytes, *, owner: str) -> StoredImage:
        try:
            stored = await store_photo(self.app, data, uploaded_by=owner, role="system", department_code=None)
        except PhotoStorageFull as exc:
            raise StorageFull(exc.message) from None
        except (PhotoRejected, PhotoTooLarge) as exc:
            raise ImageRefused(exc.message) from None
        return StoredImage(stored.id, stored.content_type, stored.bytes)


def photo_path(app: web.Application, photo_id: str, content_type: str, *, thumb: bool = False) -> Path:
    ext = next(e for ct, e in FORMATS.values() if ct == content_type)
    return photo_folder(app, photo_id) / (f"{photo_id}.thumb.jpg" if thumb else f"{photo_id}.{ext}")


async def check_photo_ids(conn: Any, case_no: str, user: User, ids: list[str]) -> None:
    """Photos named in a command must exist and be this user's uploads or already attached to this case."""
    from ticketing.db.tables import case_history, cases

    if not ids:
        return
    rows = (await conn.execute(select(photos.c.id, photos.c.uploaded_by).where(photos.c.id.in_(ids)))).all()
    owners = {r.id: r.uploaded_by for r in rows}
    foreign = [i for i in ids if owners.get(i) != user.username]
    if not foreign:
        return
    history = (await conn.execute(select(case_history.c.payload).join(cases, cases.c.id == case_history.c.case_id)
                                  .where(cases.c.case_no == case_no))).scalars().all()
    attached = {p for payload in history for p in (payload or {}).get("photos", []) if isinstance(p, str)}
    bad = [i for i in foreign if i not in attached or i not in owners]
    if bad:
        raise UnknownPhoto(f"照片编号无效：须为本人上传或本案件已有的照片（{'、'.join(bad)[:200]}）")


async def _read_parts(request: web.Request) -> list[bytes]:
    """Uploaded files of a multipart body, each read in chunks and cut off at the size limit."""
    if not request.content_type.startswith("multipart/"):
        raise ApiError(415, "multipart_required", "请以 multipart/form-data 上传图片（字段名 file 或 photos）")
    reader = await multipart_reader(request)
    files: list[bytes] = []
    try:
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.filename is None:
                continue
            if len(files) >= MAX_FILES:
                raise ApiError(422, "too_many_files", f"一次最多上传 {MAX_FILES} 张图片")
            buffer = bytearray()
            while chunk := await part.read_chunk(64 * 1024):
                buffer += chunk
                if len(buffer) > MAX_PHOTO_BYTES:
                    raise PhotoTooLarge(f"单张图片不能超过 {MAX_PHOTO_BYTES // (1024 * 1024)} MB")
            files.append(bytes(buffer))
    except BAD_MULTIPART as exc:
        raise ApiError(400, "bad_multipart", "multipart/form-data 请求格式不正确") from exc
    if not files:
        raise ApiError(422, "no_file", "没有收到图片文件")
    return files


@operation("POST", "/api/v1/photos", summary="上传现场照片（multipart，返回照片编号，用于处置反馈）", tag="cases",
           roles=tuple(r.value for r in UPLOAD_ROLES), upload=UPLOAD_DOC,
           statuses={201: "已保存：照片编号与缩略图地址", 413: "图片过大", 415: "不是 multipart 或不是图片",
                     429: "超过每日上传数量", 507: "照片存储空间已满，未保存（可稍后重试）"})
async def upload_photos(request: web.Request) -> web.Response:
    user = await require_user(request, *UPLOAD_ROLES)
    files = await _read_parts(request)
    await check_quota(request.app, user, len(files))
    stored: list[StoredPhoto] = []
    try:
        for data in files:
            stored.append(await save_photo(request.app, user, data))
    except BaseException:  # all or nothing: the client never learns the ids of the photos stored before
        await _discard(request.app, stored)
        raise
    return json_response({"photos": [p.view() for p in stored]}, status=201)


async def _discard(app: web.Application, stored: list[StoredPhoto]) -> None:
    if not stored:
        return
    async with write_transaction(app[ENGINE]) as conn:
        await conn.execute(delete(photos).where(photos.c.id.in_([p.id for p in stored])))
    for photo in stored:
        ext = next(e for ct, e in FORMATS.values() if ct == photo.content_type)
        await asyncio.to_thread(_remove_files, photo_folder(app, photo.id), photo.id, ext)


async def may_read_photo(conn: Any, user: User, photo: Any, case_no: str | None) -> bool:
    """Whether this user may read this photo (a `photos` row), read through `case_no` if given: the rule in the
    module's docstring."""
    if photo["uploaded_by"] == user.username or user.role in READ_ALL_ROLES:
        return True
    if user.role is Role.DEPARTMENT and photo["department_code"] == user.department_code:
        return True
    if case_no is None or user.role not in (Role.DEPARTMENT, Role.INSPECTOR):
        return False
    from ticketing.db.tables import case_requests, cases
    from ticketing.queries import department_may_read

    case = (await conn.execute(select(cases.c.id, cases.c.department_code).where(cases.c.case_no == case_no))).first()
    if case is None or not await _names_photo(conn, case.id, case_no, photo["id"]):
        return False
    if user.role is Role.DEPARTMENT:
        return await department_may_read(conn, case.id, user.department_code, case.department_code)
    r = case_requests.c
    assignee = r.payload["assignee"].as_string()
    task = select(r.id).where(r.case_id == case.id, r.kind.in_(TASK_KINDS),
                              (assignee == user.username) | (assignee.is_(None) & (r.state == "pending")))
    return (await conn.execute(task.limit(1))).first() is not None


async def _names_photo(conn: Any, case_id: int, case_no: str, photo_id: str) -> bool:
    """Whether the case names the photo: in a history entry's photos, its web report or its 12345 order's
    fetched attachments."""
    from ticketing.db.tables import case_history
    from ticketing.exchange.tables import exchange_attachments

    payloads = (await conn.execute(select(case_history.c.payload).where(case_history.c.case_id == case_id))).scalars()
    if any(photo_id in ((p or {}).get("photos") or []) for p in payloads if isinstance(p, dict)):
        return True
    listed = (await conn.execute(select(public_reports.c.photos).where(public_reports.c.case_no == case_no))).scalar()
    if listed and photo_id in json.loads(listed):
        return True
    a = exchange_attachments.c
    fetched = await conn.execute(select(a.id).where(a.case_no == case_no, a.photo_id == photo_id).limit(1))
    return fetched.first() is not None


async def _photo_file(request: web.Request, thumb: bool) -> web.StreamResponse:
    user = await require_user(request)
    photo_id = request.match_info["photo_id"]
    case_no = request.query.get("case") or None
    async with request.app[ENGINE].connect() as conn:
        row = (await conn.execute(select(photos).where(photos.c.id == photo_id))).mappings().first()
        if row is None:
            raise ApiError(404, "not_found", "照片不存在")
        if not await may_read_photo(conn, user, row, case_no):
            raise Forbidden("无权查看该照片：仅案件的受理、派遣、处置部门与相关监督员可以查看")
    ext = next(e for ct, e in FORMATS.values() if ct == row["content_type"])
    name = f"{photo_id}.thumb.jpg" if thumb else f"{photo_id}.{ext}"
    path = photo_folder(request.app, photo_id) / name
    if not path.is_file():
        raise ApiError(404, "not_found", "照片文件已不存在")
    return web.FileResponse(path, headers={"Content-Type": "image/jpeg" if thumb else row["content_type"],
                                           "Cache-Control": "private, max-age=86400",
                                           "X-Content-Type-Options": "nosniff"})


async def get_photo(request: web.Request) -> web.StreamResponse:
    return await _photo_file(request, thumb=False)


async def get_thumb(request: web.Request) -> web.StreamResponse:
    return await _photo_file(request, thumb=True)


def setup(app: web.Application) -> None:
    add_routes(app, upload_photos)
    app.router.add_get("/photos/{photo_id:[0-9a-f]{32}}", get_photo)
    app.router.add_get("/photos/{photo_id:[0-9a-f]{32}}/thumb", get_thumb)
