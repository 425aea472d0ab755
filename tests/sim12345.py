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
Its state (received messages, the feed, counters) is kept in the state file, so a test can stop the process
("the platform is down") and start it again without losing what it already took.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import random
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

STEPS = {"sign": "SIGN", "back": "BACK", "delay": "DELAY", "stage-reply": "STAGE_REPLY", "finish": "FINISH"}


def sign(secret: str, stamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class Sim:
    def __init__(self, secret: str, state: Path, seed: int) -> None:
        self.secret, self.path, self.random = secret, state, random.Random(seed)
        self.state: dict[str, Any] = {
            "received": {},
            "deliveries": 0,
            "bad_signatures": 0,
            "feed": [],
            "config": {},
            "failed_on_purpose": 0,
            "lost_answers": 0,
            "pulls": 0,
        }
        if state.exists():
            self.state = json.loads(state.read_text())

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, ensure_ascii=False))
        tmp.replace(self.path)

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
        """Push messages to the hotline, signed (or not, or stale, on request); answers the hotline's replies."""
        spec = await request.json()
        replies = []
        async with aiohttp.ClientSession() as session:
            for message in spec["messages"]:
                for _ in range(2 if spec.get("twice") else 1):
                    replies.append(await self._push_one(session, spec, message))
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

    async def control_state(self, request: web.Request) -> web.Response:
        return web.json_response(self.state)


def build(sim: Sim) -> web.Application:
    app = web.Application()
    app.router.add_post("/workorders/{step}", sim.receive)
    app.router.add_get("/workorders/pull", sim.pull)
    app.router.add_post("/control/config", sim.control_config)
    app.router.add_post("/control/feed", sim.control_feed)
    app.router.add_post("/control/push", sim.control_push)
    app.router.add_get("/control/state", sim.control_state)
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
