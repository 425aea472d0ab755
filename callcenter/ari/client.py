"""A thin ARI client on aiohttp: REST calls and the events websocket with reconnect and backoff.

Endpoints and parameters follow /usr/share/asterisk/rest-api/*.json of the Asterisk we run. Credentials go
in an Authorization header, never in the URL (`api_key=` would end up in logs).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from callcenter.ari.ari_events import Bridge, Channel, Event, Playback, Recording, parse_event

log = logging.getLogger(__name__)


class AriError(Exception):
    """An ARI request failed; `status` is the HTTP status (0 when Asterisk could not be reached)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"ARI {status}: {message}")
        self.status = status
        self.message = message


class AriClient:
    """REST + events for one Stasis application."""

    def __init__(self, base_url: str, user: str, password: str, app: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.app = app
        self._headers = {"Authorization": _basic(user, password)}
        self._session: aiohttp.ClientSession | None = None
        self._subscriptions: set[str] = set()
        self.connected = asyncio.Event()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=aiohttp.ClientTimeout(total=10, connect=3)
            )
        return self._session

    async def close(self) -> None:
        """Remove our subscriptions (if not done yet) and close the HTTP session."""
        await self.unsubscribe_all()
        if self._session is not None:
            await self._session.close()

    async def unsubscribe_all(self) -> None:
        """Remove the event subscriptions this instance added: they are sticky per application name, so
        the next instance would get duplicated events. Call it while the events socket is still open."""
        for source in sorted(self._subscriptions):
            try:
                await self.request("DELETE", f"/applications/{self.app}/subscription",
                                   params={"eventSource": source})
            except AriError as exc:
                log.info("could not unsubscribe %s: %s", source, exc)
        self._subscriptions.clear()

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                      body: Any = None) -> Any:
        clean = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        try:
            async with self.session.request(method, self.base_url + path, params=clean,
                                            json=body) as response:
                text = await response.text()
                if response.status >= 400:
                    raise AriError(response.status, _message(text))
                return json.loads(text) if text else None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise AriError(0, str(exc) or type(exc).__name__) from exc

    # --- channels -------------------------------------------------------------------------------------
    async def list_channels(self) -> list[Channel]:
        return [Channel.from_json(c) for c in await self.request("GET", "/channels")]

    async def get_channel(self, channel_id: str) -> Channel:
        return Channel.from_json(await self.request("GET", f"/channels/{channel_id}"))

    async def answer(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/answer")

    async def ring(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/ring")

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self.request("DELETE", f"/channels/{channel_id}", params={"reason": reason})

    async def continue_in_dialplan(self, channel_id: str, context: str, extension: str = "s",
                                   priority: int = 1) -> None:
        await self.request("POST", f"/channels/{channel_id}/continue",
                           params={"context": context, "extension": extension, "priority": priority})

    async def play(self, target: str, media: str | list[str], playback_id: str | None = None) -> Playback:
        """Play on `channel:ID` or `bridge:ID`; several media play back to back."""
        kind, _, ident = target.partition(":")
        path = f"/{kind}s/{ident}/play" + (f"/{playback_id}" if playback_id else "")
        media_list = [media] if isinstance(media, str) else media
        return Playback.from_json(await self.request("POST", path, params={"media": ",".join(media_list)}))

    async def stop_playback(self, playback_id: str) -> None:
        await self.request("DELETE", f"/playbacks/{playback_id}")

    async def start_recording(self, target: str, name: str, *, fmt: str = "wav", max_duration_s: int = 0,
                     max_silence_s: int = 0, terminate_on: str = "none", beep: bool = False) -> Recording:
        kind, _, ident = target.partition(":")
        params = {"name": name, "format": fmt, "maxDurationSeconds": max_duration_s,
                  "maxSilenceSeconds": max_silence_s, "terminateOn": terminate_on, "beep": beep,
                  "ifExists": "overwrite"}
        return Recording.from_json(await self.request("POST", f"/{kind}s/{ident}/record", params=params))

    async def stop_recording(self, name: str) -> None:
        await self.request("POST", f"/recordings/live/{name}/stop")

    async def originate(self, endpoint: str, *, channel_id: str, timeout_s: int, app_args: str = "",
                        caller_id: str | None = None, variables: dict[str, str] | None = None) -> Channel:
        params = {"endpoint": endpoint, "app": self.app, "appArgs": app_args, "timeout": timeout_s,
                  "callerId": caller_id, "channelId": channel_id}
        body = {"variables": variables} if variables else None
        return Channel.from_json(await self.request("POST", "/channels", params=params, body=body))

    async def moh(self, channel_id: str, on: bool) -> None:
        await self.request("POST" if on else "DELETE", f"/channels/{channel_id}/moh")

    async def snoop(self, channel_id: str, snoop_id: str, *, spy: str, whisper: str,
                    app_args: str) -> Channel:
        params = {"spy": spy, "whisper": whisper, "app": self.app, "appArgs": app_args}
        return Channel.from_json(await self.request(
            "POST", f"/channels/{channel_id}/snoop/{snoop_id}", params=params))

    # --- bridges --------------------------------------------------------------------------------------
    async def create_bridge(self, bridge_id: str, name: str = "", kind: str = "mixing") -> Bridge:
        return Bridge.from_json(await self.request(
            "POST", f"/bridges/{bridge_id}", params={"type": kind, "name": name or bridge_id}))

    async def list_bridges(self) -> list[Bridge]:
        return [Bridge.from_json(b) for b in await self.request("GET", "/bridges")]

    async def add_to_bridge(self, bridge_id: str, *channel_ids: str) -> None:
        await self.request("POST", f"/bridges/{bridge_id}/addChannel",
                           params={"channel": ",".join(channel_ids)})

    async def remove_from_bridge(self, bridge_id: str, channel_id: str) -> None:
        await self.request("POST", f"/bridges/{bridge_id}/removeChannel", params={"channel": channel_id})

    async def bridge_moh(self, bridge_id: str, on: bool) -> None:
        await self.request("POST" if on else "DELETE", f"/bridges/{bridge_id}/moh")

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self.request("DELETE", f"/bridges/{bridge_id}")

    # --- application, endpoints, asterisk ---------------------------------------------------------------
    async def subscribe(self, source: str) -> None:
        await self.request("POST", f"/applications/{self.app}/subscription", params={"eventSource": source})
        self._subscriptions.add(source)

    async def application(self) -> dict[str, Any]:
        return await self.request("GET", f"/applications/{self.app}")

    async def send_message(self, endpoint: str, sender: str, body: str) -> None:
        await self.request("PUT", f"/endpoints/{endpoint}/sendMessage",
                           params={"from": sender, "body": body})

    async def send_message_to(self, to: str, sender: str, body: str) -> None:
        """Technology-agnostic form: `to` like `pjsip:citizens/sip:13800138000@host:port`."""
        await self.request("PUT", "/endpoints/sendMessage", params={"to": to, "from": sender, "body": body})

    async def endpoint_state(self, tech: str, resource: str) -> str:
        data = await self.request("GET", f"/endpoints/{tech}/{resource}")
        return str(data.get("state", ""))

    async def info(self) -> dict[str, Any]:
        return await self.request("GET", "/asterisk/info")

    # --- events -----------------------------------------------------------------------------------------
    async def run_events(self, on_event: Callable[[Event], None],
                         on_connect: Callable[[], Awaitable[None]], *,
                         min_backoff_s: float = 0.2, max_backoff_s: float = 1.0,
                         subscribe_all: bool = False) -> None:
        """Read events forever, reconnecting with exponential backoff; `on_connect` runs after each
        (re)connection, before queued events are delivered, so the caller can reconcile state. The backoff
        stays at or below 1 s: after Asterisk restarts, calls resume within about a second of it answering."""
        backoff = min_backoff_s
        ws_url = self.base_url.replace("http", "ws", 1) + "/events"
        while True:
            try:
                async with self.session.ws_connect(
                    ws_url, params={"app": self.app, "subscribeAll": _param(subscribe_all)}, heartbeat=10,
                    headers=self._headers
                ) as ws:
                    backoff = min_backoff_s
                    self.connected.set()
                    log.info("ARI events connected for %s", self.app)
                    await on_connect()
                    async for message in ws:
                        if message.type is aiohttp.WSMsgType.TEXT:
                            on_event(parse_event(json.loads(message.data)))
            except (aiohttp.ClientError, OSError, TimeoutError, AriError) as exc:
                log.info("ARI events unavailable (%s); retrying in %.1f s", exc, backoff)
            self.connected.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, max_backoff_s)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _message(text: str) -> str:
    try:
        return str(json.loads(text).get("message", text))
    except (ValueError, AttributeError):
        return text
