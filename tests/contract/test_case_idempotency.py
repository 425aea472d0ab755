"""`POST /api/v1/cases` with an `Idempotency-Key`, through HTTP on SQLite and PostgreSQL: a retried creation
answers with the first case instead of making a second one (also when both sends arrive at once), a key is
the user's own, a key reused for a different body is refused in Chinese, and keys past their retention are
purged."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from tests.api_plugin import Api
from ticketing.creation_keys import KEY_RETENTION, purge_keys
from ticketing.db.tables import case_creation_keys, cases
from web.keys import ENGINE

BODY = {"source": "hotline", "description": "海滨东路120号门口路灯不亮", "category_code": "10118",
        "caller_phone": "13800000000", "address": "海滨东路120号"}


async def create(api: Api, key: str | None, body: dict[str, Any] = BODY, user: str = "agent01",
                 ) -> tuple[int, Any, str | None]:
    headers = {"Authorization": f"Bearer {api.tokens[user]}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    async with api.client.post("/api/v1/cases", json=body, headers=headers) as resp:
        return resp.status, await resp.json(), resp.headers.get("Location")


async def count(api: Api, table: Any = cases) -> int:
    async with api.client.app[ENGINE].connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_a_retried_creation_answers_with_the_first_case_and_creates_none(api: Api) -> None:
    key = uuid.uuid4().hex
    status, first, location = await create(api, key)
    assert status == 201, first
    assert location == f"/api/v1/cases/{first['case_no']}"
    before = await count(api)
    status, again, location = await create(api, key, dict(reversed(list(BODY.items()))))  # same body, other order
    assert status == 200, again
    assert again == first, "the same answer as the first time"
    assert location == f"/api/v1/cases/{first['case_no']}"
    assert await count(api) == before


async def test_two_sends_at_once_with_one_key_make_one_case(api: Api) -> None:
    before = await count(api)
    key = uuid.uuid4().hex
    answers = await asyncio.gather(*(create(api, key) for _ in range(2)))
    assert sorted(status for status, _, _ in answers) == [200, 201], answers
    assert len({body["case_no"] for _, body, _ in answers}) == 1
    assert await count(api) == before + 1
    # and five at once
    key = uuid.uuid4().hex
    answers = await asyncio.gather(*(create(api, key) for _ in range(5)))
    assert sorted(status for status, _, _ in answers) == [200, 200, 200, 200, 201], answers
    assert len({body["case_no"] for _, body, _ in answers}) == 1
    assert await count(api) == before + 2


async def test_the_same_key_with_another_body_is_refused_and_changes_nothing(api: Api) -> None:
    key = uuid.uuid4().hex
    status, first, _ = await create(api, key)
    assert status == 201
    before = await count(api)
    status, refused, _ = await create(api, key, {**BODY, "description": "另一件事：井盖缺失"})
    assert status == 422, refused
    assert refused["error"]["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in refused["error"]["message"] and first["case_no"] in refused["error"]["message"]
    assert await count(api) == before


async def test_keys_are_per_user_and_optional(api: Api) -> None:
    key = uuid.uuid4().hex
    mine = await create(api, key, user="agent01")
    theirs = await create(api, key, user="lead01")
    assert mine[0] == theirs[0] == 201 and mine[1]["case_no"] != theirs[1]["case_no"]
    without = [await create(api, None) for _ in range(2)]  # no key: every send is a new case (as before)
    assert [s for s, _, _ in without] == [201, 201] and without[0][1]["case_no"] != without[1][1]["case_no"]


async def test_a_malformed_key_is_a_clear_400(api: Api) -> None:
    before = await count(api)
    for key in ("short", "有中文的键-12345678", "x" * 65):
        status, body, _ = await create(api, key)
        assert status == 400 and body["error"]["code"] == "idempotency_key_invalid", (key, body)
        assert "Idempotency-Key" in body["error"]["message"]
    assert await count(api) == before


async def test_keys_past_the_retention_are_purged_and_the_cases_stay(api: Api, clock) -> None:  # type: ignore[no-untyped-def]
    old_key = uuid.uuid4().hex
    status, old, _ = await create(api, old_key)
    assert status == 201
    clock.advance(seconds=(KEY_RETENTION - timedelta(hours=1)).total_seconds())
    status, _, _ = await create(api, uuid.uuid4().hex)
    assert status == 201
    clock.advance(hours=2)
    assert await purge_keys(api.client.app[ENGINE], clock()) == 1
    assert await count(api, case_creation_keys) == 1
    status, _ = await api.call("GET", f"/api/v1/cases/{old['case_no']}")
    assert status == 200, "the case stays; only its key is forgotten"


async def test_the_header_is_documented(api: Api) -> None:
    status, doc = await api.call("GET", "/api/v1/openapi.json", None)
    assert status == 200
    post = doc["paths"]["/api/v1/cases"]["post"]
    header = next(p for p in post["parameters"] if p["in"] == "header" and p["name"] == "Idempotency-Key")
    assert header["required"] is False and header["schema"]["pattern"]
    assert {"200", "201", "400", "422"} <= set(post["responses"])
