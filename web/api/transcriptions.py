"""Transcription API: upload a WAV, get text, segments and suggested class and place; search stored transcripts.

Suggestions are for the agent to confirm; nothing here changes a case. When no speech model is installed the
API answers 503 with what to install, and everything else keeps working.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from aiohttp import BodyPartReader, web
from pydantic import BaseModel, Field

from transcribe.audio import AudioFormatError, read_wav
from transcribe.ports import EngineUnavailable
from transcribe.service import SpeechService
from web.auth import require_user
from web.errors import BAD_MULTIPART, ApiError, multipart_reader
from web.json import json_response
from web.keys import SPEECH
from web.openapi import add_routes, operation

ROLES = ("agent", "lead", "dispatcher", "admin", "inspector")  # inspectors dictate report descriptions
MAX_SECONDS = 600
WAV_TYPES = ("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave")


class SearchQuery(BaseModel):
    q: str | None = Field(None, min_length=1, max_length=100, pattern=r"\S",
                          description="要查找的文字（在规范化后的转写文本中匹配）；q 与 call_id 至少给一个")
    call_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"\S",
                                description="某一通话的全部转写（IVR 描述、实时、录音）")
    limit: int = Field(20, ge=1, le=100)


def speech_service(app: web.Application) -> SpeechService:
    """The app's speech runtime (also used by the call runtime for live and background transcription)."""
    return app[SPEECH]


async def _read_upload(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit + 64 * 1024:
        raise ApiError(413, "upload_too_large", f"文件过大，最大 {limit // (1024 * 1024)} MB")
    if request.content_type.startswith("multipart/"):
        reader = await multipart_reader(request)
        try:
            part = await reader.next()
            while part is not None and (not isinstance(part, BodyPartReader) or part.name != "file"):
                part = await reader.next()
            if part is None:
                raise ApiError(400, "missing_file", "请以 multipart 字段 file 上传 WAV 文件")
            data = await part.read(decode=False)
        except BAD_MULTIPART as exc:
            raise ApiError(400, "bad_multipart", "multipart/form-data 请求格式不正确") from exc
    elif request.content_type in WAV_TYPES:
        data = await request.read()
    else:
        raise ApiError(415, "unsupported_media", "请上传 WAV 文件（audio/wav 或 multipart 字段 file）")
    if len(data) > limit:
        raise ApiError(413, "upload_too_large", f"文件过大，最大 {limit // (1024 * 1024)} MB")
    return bytes(data)


def _check_wav(path: str) -> None:
    try:
        audio = read_wav(path)
    except AudioFormatError as exc:
        raise ApiError(422, "bad_audio", str(exc)) from exc
    if audio.duration < 0.1:
        raise ApiError(422, "audio_too_short", "音频过短（少于 0.1 秒）")
    if audio.duration > MAX_SECONDS:
        raise ApiError(413, "audio_too_long", f"音频过长，最长 {MAX_SECONDS // 60} 分钟")


@operation("POST", "/api/v1/transcriptions", summary="上传 WAV 录音，返回转写文字、分段及建议的小类和地点",
           tag="speech", roles=ROLES, upload={
               "schema": {"type": "object", "required": ["file"], "properties": {
                   "file": {"type": "string", "format": "binary",
                            "description": "WAV 录音（也可直接以 audio/wav 上传）"}}},
               "encoding": {"file": {"contentType": "audio/wav"}}},
           statuses={200: "OK", 400: "缺少文件", 413: "文件过大或过长", 415: "不是 WAV", 422: "音频无法读取",
                     503: "语音识别不可用（未安装模型）"})
async def post_transcription(request: web.Request) -> web.Response:
    await require_user(request, *ROLES)
    service = speech_service(request.app)
    data = await _read_upload(request, service.settings.max_upload_mb * 1024 * 1024)
    if not (data[:4] == b"RIFF" and data[8:12] == b"WAVE"):
        raise ApiError(415, "unsupported_media", "文件不是 WAV 格式（缺少 RIFF/WAVE 文件头）")
    handle, path = tempfile.mkstemp(suffix=".wav", prefix="upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        _check_wav(path)
        result = await service.transcribe_file(path)
    except EngineUnavailable as exc:
        raise ApiError(503, "speech_unavailable", str(exc)) from exc
    finally:
        os.unlink(path)
    return json_response(result)


@operation("GET", "/api/v1/transcriptions", summary="按文字或通话编号查找已保存的通话转写", tag="speech",
           query=SearchQuery, roles=ROLES)
async def search_transcriptions(request: web.Request) -> web.Response:
    await require_user(request, *ROLES)
    repository = speech_service(request.app).repository
    assert repository is not None
    call_id = (request.query.get("call_id") or "").strip()
    if call_id:
        if len(call_id) > 64:
            raise ApiError(400, "bad_call_id", "通话编号过长")
        return json_response({"items": [_stored(t) for t in await repository.for_call(call_id)]})
    text = (request.query.get("q") or "").strip()
    if not text or len(text) > 100:
        raise ApiError(400, "bad_query", "请提供 1–100 个字的查找文字（参数 q）或通话编号（参数 call_id）")
    try:
        limit = int(request.query.get("limit", "20"))
    except ValueError as exc:
        raise ApiError(400, "bad_limit", "条数必须是 1–100 的整数") from exc
    found = await repository.search(text, max(1, min(limit, 100)))
    return json_response({"items": [_stored(t) for t in found]})


def _stored(t: Any) -> dict[str, Any]:
    return {"id": t.id, "call_id": t.call_id, "source": t.source, "status": t.status, "text": t.text,
            "summary": t.summary, "suggested_class_code": t.suggested_class_code,
            "suggested_address": t.suggested_address, "created_at": t.created_at.isoformat()}


def setup(app: web.Application) -> None:
    """Register the routes (app[SPEECH] is built by the composition root; its pool closes in web.lifecycle)."""
    add_routes(app, post_transcription, search_transcriptions)
