"""SMS channels behind one interface: log (default), sip (SIP MESSAGE via the call runtime), http (gateway)."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl

import aiohttp
from jinja2 import Environment, StrictUndefined

from core.privacy import mask_phone
from ticketing.notify.domain.signing import sms_signature
from ticketing.notify.settings import HttpGatewaySettings, NotifySettings

log = logging.getLogger("hotline.sms")


class DeliveryError(Exception):
    """A message could not be delivered this time; the outbox retries it with backoff."""


class SmsChannel(Protocol):
    """Port: sends one text to one number, or raises DeliveryError (with a Chinese message for the log)."""

    name: str

    async def send(self, number: str, text: str, now: datetime) -> None: ...


class CallRuntime(Protocol):
    """The part of the telephony runtime (web.keys.Running.calls) the loop uses."""

    async def start_survey(self, *, callback_id: int, number: str, case_no: str | None, state: str,
                           result_text: str,
                           on_answer: Callable[[int, int | None, str | None], Awaitable[None]]) -> None: ...

    async def send_sip_message(self, *, to_endpoint_or_uri: str, body: str, sender: str) -> None: ...

    # Optional: queue/missed-call callbacks are dialled with `start_callback(*, callback_id, number, call_id,
    # on_answer)` when the runtime offers it; without it they are left to agents (state failed, 人工回拨).


class LogChannel:
    """Writes messages to the log: the default, so nothing leaves the machine until a site configures it."""

    name = "log"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, number: str, text: str, now: datetime) -> None:
        self.sent.append((number, text))
        log.info("SMS to %s: %s", mask_phone(number), text)  # logs carry masked numbers (core/privacy.py)


class SipChannel:
    """SIP MESSAGE through the call runtime (Asterisk ARI); a clear error when telephony is not running."""

    name = "sip"

    def __init__(self, runtime: Callable[[], Any], sender: str, to_template: str) -> None:
        self._runtime, self._sender, self._to = runtime, sender, to_template

    async def send(self, number: str, text: str, now: datetime) -> None:
        runtime = self._runtime()
        if runtime is None or not hasattr(runtime, "send_sip_message"):
            raise DeliveryError("电话功能未启用或未运行，无法通过 SIP MESSAGE 发送短信")
        try:
            await runtime.send_sip_message(to_endpoint_or_uri=self._to.format(number=number), body=text,
                                           sender=self._sender)
        except Exception as exc:  # the runtime's errors are many (ARI HTTP, no endpoint); all mean "retry"
            raise DeliveryError(f"SIP MESSAGE 发送失败：{exc}") from exc


class HttpChannel:
    """An HTTP SMS gateway: the request body is rendered from a template and signed as the provider wants."""

    name = "http"

    def __init__(self, cfg: HttpGatewaySettings, session: Callable[[], aiohttp.ClientSession]) -> None:
        self._cfg, self._session = cfg, session
        self._env = Environment(undefined=StrictUndefined, autoescape=False)

    def render(self, number: str, text: str, now: datetime, nonce: str | None = None) -> tuple[str, str]:
        """(body, sign) for one message; public so tests and site admins can check a template."""
        values = {"app_key": self._cfg.app_key, "phone": number, "text": text,
                  "timestamp": str(int(now.timestamp())), "nonce": nonce or secrets.token_hex(8)}
        canonical = self._env.from_string(self._cfg.sign_template).render(**values)
        sign = sms_signature(self._cfg.sign_algorithm, self._cfg.secret, canonical,
                             uppercase=self._cfg.sign_uppercase)
        return self._env.from_string(self._cfg.body_template).render(**values, sign=sign), sign

    async def send(self, number: str, text: str, now: datetime) -> None:
        body, _ = self.render(number, text, now)
        try:
            async with self._session().request(self._cfg.method, self._cfg.url, **self._request_args(body),
                                               timeout=aiohttp.ClientTimeout(total=self._cfg.timeout_s)) as resp:
                answer = await resp.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"短信网关连接失败：{exc.__class__.__name__} {exc}") from exc
        if resp.status >= 300 or (self._cfg.success_contains and self._cfg.success_contains not in answer):
            raise DeliveryError(f"短信网关返回 {resp.status}：{answer[:200]}")

    def _request_args(self, body: str) -> dict[str, Any]:
        headers = {"Content-Type": self._cfg.content_type, **self._cfg.headers}
        if self._cfg.method == "GET":
            return {"params": _as_params(body, self._cfg.content_type), "headers": self._cfg.headers}
        return {"data": body.encode(), "headers": headers}


def _as_params(body: str, content_type: str) -> dict[str, str]:
    if content_type == "application/json":
        return {k: str(v) for k, v in json.loads(body).items()}
    return dict(parse_qsl(body))


def build_channel(cfg: NotifySettings, runtime: Callable[[], Any],
                  session: Callable[[], aiohttp.ClientSession]) -> SmsChannel:
    """Pick the channel by name (`notify.sms_channel: log|sip|http`)."""
    if cfg.sms_channel == "sip":
        return SipChannel(runtime, cfg.sip_sender, cfg.sip_to_template)
    if cfg.sms_channel == "http":
        return HttpChannel(cfg.http, session)
    return LogChannel()
