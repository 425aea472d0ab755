"""A stand-in for the city's 12345 platform, run as its own process by the exchange tests and the benchmark.

    python -m tests.sim12345 --port P --secret S --state FILE [--seed N]

It speaks the generic-12345 profile (ticketing/exchange/profiles/generic-12345.yaml):
- receives our answers (`POST /workorders/{sign,back,delay,stage-reply,finish}`), checks their signature and
  remembers each message id once; a second delivery of the same id is answered `DUPLICATE` (success);
- serves its 待办 feed for pulling (`GET /workorders/pull?cursor=&limit=`);
- pushes messages to the hotline on request (`POST /control/push`), signed, optionally twice;
- misbehaves on request (`POST /control/config`): `fail_rate` answers 500 *before* taking a message,
  `lost_answer_rate` takes it and then answers 500 anyway (the caller must retry and be told "duplicate"),
  `slow_s` sleeps before answering, `pull_fail` answers the feed with 500.
- serves attachment files (`GET /files/{name}`, behaviour by the name's first word: `ok`/`png` an image, `flaky`
  500 for the first `flaky_failures` gets then an image, `big` an image padded past `big_bytes` (with a
  Content-Length), `bigchunked` the same streamed without one, `text` an HTML page declared image/jpeg, `pdf` a
  PDF, `redirect` a 302 to an image, `slow` an image after `slow_s`);
- fetches a URL for a test (`POST /control/fetch`), as the platform fetching our 办结 photo links would;
- plays a higher-level (运管服) platform taking upward upload batches (`POST /upward/{stream}`, signed, each
  batch id taken once; `fail_rate`, `lost_answer_rate` and `slow_s` apply).
Its state (received messages, the feed, counters) is kept in the state file (written every 0.2 s and when the
process is stopped), so a test can stop the process
("the platform is down") and start it again without losing what it already took.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import io
import json
import random
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from PIL import Image

STEPS = {"sign": "SIGN", "back": "BACK", "delay": "DELAY", "stage-reply": "STAGE_REPLY", "finish": "FINISH"}


def image(fmt: str = "JPEG", colour: tuple[int, int, int] = (200, 60, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, fmt)
    return buffer.getvalue()


def sign(secret: str, stamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class Sim:
    def __init__(self, secret: str, state: Path, seed: int) -> None:
        self.secret, self.path, self.random = secret, state, random.Random(seed)
        self.dirty = False
        self.state: dict[str, Any] = {
            "received": {},
            "deliveries": 0,
            "bad_signatures": 0,
            "feed": [],
            "config": {},
            "failed_on_purpose": 0,
            "lost_answers": 0,
            "pulls": 0,
            "file_gets": {},
            "batches": {},
            "batch_posts": 0,
        }
        if state.exists():
            self.state = json.loads(state.read_text())
        self.jpeg, self.png = image("JPEG"), image("PNG", (40, 120, 200))

    def save(self) -> None:
        """Mark the state changed; `flush` writes it (every 0.2 s, and when the process stops)."""
        self.dirty = True

    def flush(self) -> None:
        if self.dirty:
            self.dirty = False
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.state, ensure_ascii=False))
            tmp.replace(self.path)

    async def flusher(self, app: web.Application) -> Any:
        async def loop() -> None:
            while True:
                await asyncio.sleep(0.2)
                self.flush()

        task = asyncio.create_task(loop())
        yield
        task.cancel()
        self.flush()  # SIGTERM (the test's stop) lands here: nothing taken is forgotten

    def cfg(self, key: str, default: Any = 0) -> Any:
        return self.state["config"].get(key, default)

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        await asyncio.sleep(float(self.cfg("slow_s", 0)))
        self.state["deliveries"] += 1
        stamp = request.headers.get("X-Timestamp", "")
        if not hmac.compare_digest(sign(self.secret, stamp, body), request.headers.get("X-Signature", "")):
            self.state["bad_signatures"] += 1
            self.save()
            return web.json_response({"code": "401", "message": "签名错误"}, status=401)
        data = json.loads(body)
        step = request.match_info["step"]
        if data.get("msgType") != STEPS.get(step) or request.headers.get("X-Message-Id") != data.get("msgId"):
            return web.json_response({"code": "BAD", "message": "报文类型或编号不符"})
        if self.random.random() < float(self.cfg("fail_rate")):
            self.state["failed_on_purpose"] += 1
            self.save()
            return web.json_response({"code": "500", "message": "内部错误"}, status=500)
        message_id = data["msgId"]
        seen = self.state["received"].get(message_id)
        if seen is not None:
            seen["repeats"] += 1
            self.save()
            return web.json_response({"code": "DUPLICATE", "message": "重复消息"})
        self.state["received"][message_id] = {"step": step, "body": data, "repeats": 0, "at": time.time()}
        if self.random.random() < float(self.cfg("lost_answer_rate")):
            self.state["lost_answers"] += 1
            self.save()
            return web.json_response({"code": "500", "message": "内部错误"}, status=500)
        self.save()
        return web.json_response({"code": "0", "message": "成功"})

    async def pull(self, request: web.Request) -> web.Response:
        self.state["pulls"] += 1
        await asyncio.sleep(float(self.cfg("slow_s", 0)))
        if self.cfg("pull_fail"):
            self.save()
            return web.json_response({"code": "500"}, status=500)
        cursor = int(request.query.get("cursor") or 0)
        limit = int(request.query.get("limit") or 100)
        items = self.state["feed"][cursor : cursor + limit]
        self.save()
        return web.json_response({"code": "0", "items": items, "nextCursor": str(cursor + len(items))})

    async def control_config(self, request: web.Request) -> web.Response:
        self.state["config"] = await request.json()
        self.save()
        return web.json_response(self.state["config"])

    async def control_feed(self, request: web.Request) -> web.Response:
        self.state["feed"] += (await request.json())["messages"]
        self.save()
        return web.json_response({"feed": len(self.state["feed"])})

    async def control_push(self, request: web.Request) -> web.Response:
        """Push messages to the hotline, signed (or not, or stale, on request), `concurrency` at a time (in
        order when 1); answers the hotline's replies in the order of the messages."""
        spec = await request.json()
        copies = [m for m in spec["messages"] for _ in range(2 if spec.get("twice") else 1)]
        replies: list[Any] = [None] * len(copies)
        gate = asyncio.Semaphore(int(spec.get("concurrency", 1)))
        async with aiohttp.ClientSession() as session:

            async def one(index: int, message: Any) -> None:
                async with gate:
                    replies[index] = await self._push_one(session, spec, message)

            if int(spec.get("concurrency", 1)) == 1:
                for index, message in enumerate(copies):
                    await one(index, message)
            else:
                await asyncio.gather(*(one(i, m) for i, m in enumerate(copies)))
        return web.json_response({"replies": replies})

    async def _push_one(self, session: aiohttp.ClientSession, spec: dict[str, Any], message: Any) -> Any:
        body = json.dumps(message, ensure_ascii=False).encode()
        stamp = str(int(time.time()) - int(spec.get("age_s", 0)))
        headers = {
            "Content-Type": "application/json",
            "X-Timestamp": stamp,
            "X-Signature": sign(spec.get("secret", self.secret), stamp, body),
        }
        async with session.post(spec["target"], data=body, headers=headers) as resp:
            return {"status": resp.status, "body": await resp.json()}

    async def files(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        gets = self.state["file_gets"][name] = self.state["file_gets"].get(name, 0) + 1
        self.save()
        kind = name.split("-", 1)[0].split(".", 1)[0]
        if kind == "flaky" and gets <= int(self.cfg("flaky_failures", 1)):
            return web.Response(status=500, text="busy")
        if kind == "slow":
            await asyncio.sleep(float(self.cfg("slow_s", 0)))
        if kind == "png":
            return web.Response(body=self.png, content_type="image/png")
        if kind == "text":
            return web.Response(body="<html><body>登录页</body></html>".encode(), content_type="image/jpeg")
        if kind == "pdf":
            return web.Response(body=b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\n", content_type="application/pdf")
        if kind == "redirect":
            raise web.HTTPFound("/files/ok-redirected.jpg")
        if kind in ("big", "bigchunked"):
            body = self.jpeg + b"\0" * int(self.cfg("big_bytes", 9 * 1024 * 1024))
            if kind == "big":
                return web.Response(body=body, content_type="image/jpeg")
            resp = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            try:
                for at in range(0, len(body), 65536):
                    await resp.write(body[at : at + 65536])
                await resp.write_eof()
            except (ConnectionResetError, aiohttp.ClientConnectionResetError):
                pass  # the hotline stopped reading at its limit
            return resp
        return web.Response(body=self.jpeg, content_type="image/jpeg")

    async def control_fetch(self, request: web.Request) -> web.Response:
        url = (await request.json())["url"]
        async with aiohttp.ClientSession() as session, session.get(url, allow_redirects=False) as resp:
            body = await resp.read()
            return web.json_response({
                "status": resp.status,
                "content_type": resp.headers.get("Content-Type"),
                "bytes": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
            })

    async def upward(self, request: web.Request) -> web.Response:
        """A higher-level platform's batch upload: signed JSON {batchId, stream, count, records}; each batch id
        is taken once (a repeat is answered DUPLICATE, which the sender counts as acknowledged)."""
        body = await request.read()
        await asyncio.sleep(float(self.cfg("slow_s", 0)))
        self.state["batch_posts"] += 1
        stamp = request.headers.get("X-Timestamp", "")
        if not hmac.compare_digest(sign(self.secret, stamp, body), request.headers.get("X-Signature", "")):
            self.state["bad_signatures"] += 1
            self.save()
            return web.json_response({"code": "401", "message": "签名错误"}, status=401)
        if self.random.random() < float(self.cfg("fail_rate")):
            self.state["failed_on_purpose"] += 1
            self.save()
            return web.json_response({"code": "500", "message": "内部错误"}, status=500)
        data = json.loads(body)
        batch_id = data["batchId"]
        if batch_id in self.state["batches"]:
            self.state["batches"][batch_id]["repeats"] += 1
            self.save()
            return web.json_response({"code": "DUPLICATE", "message": "重复批次"})
        self.state["batches"][batch_id] = {
            "stream": request.match_info["stream"],
            "records": data["records"],
            "count": data["count"],
            "repeats": 0,
        }
        if self.random.random() < float(self.cfg("lost_answer_rate")):
            self.state["lost_answers"] += 1
            self.save()
            return web.json_response({"code": "500", "message": "内部错误"}, status=500)
        self.save()
        return web.json_response({"code": "0", "message": "成功"})

    async def control_state(self, request: web.Request) -> web.Response:
        return web.json_response(self.state)


def build(sim: Sim) -> web.Application:
    app = web.Application()
    app.cleanup_ctx.append(sim.flusher)
    app.router.add_post("/workorders/{step}", sim.receive)
    app.router.add_get("/workorders/pull", sim.pull)
    app.router.add_post("/control/config", sim.control_config)
    app.router.add_post("/control/feed", sim.control_feed)
    app.router.add_post("/control/push", sim.control_push)
    app.router.add_get("/control/state", sim.control_state)
    app.router.add_get("/files/{name}", sim.files)
    app.router.add_post("/control/fetch", sim.control_fetch)
    app.router.add_post("/upward/{stream}", sim.upward)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args()
    web.run_app(
        build(Sim(args.secret, args.state, args.seed)), host="127.0.0.1", port=args.port, print=None, access_log=None
    )


if __name__ == "__main__":
    main()
