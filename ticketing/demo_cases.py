"""Demo cases for Haiyan: a few dozen complaints in every state, walked through the real workflow.

Seeded once by `hotline demo seed` (recognised by external_id "demo-…"), so the consoles, the wallboard and
the department portal have something to show. Marked as demo data in their descriptions (演示).
"""

from __future__ import annotations

import random

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.db.tables import case_requests, cases
from ticketing.domain.model import Actor, Role
from ticketing.domain.workflow import Command
from ticketing.services import CaseService, NewCase

AGENT, LEAD = Actor("agent01", Role.AGENT), Actor("lead01", Role.LEAD)
DISPATCHER, INSPECTOR = Actor("dispatcher01", Role.DISPATCHER), Actor("inspector01", Role.INSPECTOR)

# (category, description, address) — places from the demo gazetteer.
COMPLAINTS = [
    ("10118", "路灯不亮，晚上一片漆黑", "海滨东路120号"),
    ("10103", "雨水井盖缺失，有安全隐患", "枣园东路和城北西路交叉口"),
    ("20505", "有人在小区门口占道摆摊", "绮园"), ("20102", "一堆垃圾好几天没人清理", "朝阳东路88号"),
    ("20301", "工地晚上十一点还在施工，噪音扰民", "新桥北路66号"), ("20201", "人行道上到处贴着小广告", "新桥北路35号"),
    ("10203", "公交站亭玻璃碎了", "武原大道"), ("20107", "废弃汽车停了半年", "勤俭路21号"),
    ("20110", "下水道堵了，路面全是积水", "城北西路45号"), ("20101", "院子里私搭乱建一间房", "长安路17号"),
    ("10305", "垃圾箱破损，垃圾外溢", "盐湖路12号"), ("10402", "行道树倾斜，快倒了", "华城路30号"),
    ("10210", "交通信号灯不亮", "百尺北路和海滨中路交叉口"), ("20506", "机动车乱停放堵住消防通道", "虹桥北路9号"),
    ("20104", "道路不洁，满地落叶", "南塘路50号"), ("10301", "公共厕所无人清扫，气味很大", "海滨西路18号"),
]

# How far each demo case is walked through the workflow.
PATHS: list[list[tuple[str, Actor, dict[str, object]]]] = [
    [],
    [("accept", AGENT, {})],
    [("accept", AGENT, {}), ("register", LEAD, {})],
    [("accept", AGENT, {}), ("register", LEAD, {}), ("dispatch", DISPATCHER, {})],
    [("accept", AGENT, {}), ("register", LEAD, {}), ("dispatch", DISPATCHER, {}), ("submit_result", None, {}),
     ("request_check", AGENT, {})],  # a 核查 task for the duty grid's inspector (城管通)
    [("accept", AGENT, {}), ("register", LEAD, {}), ("dispatch", DISPATCHER, {}), ("submit_result", None, {}),
     ("request_check", AGENT, {}), ("check_pass", None, {}), ("close", LEAD, {})],
]


async def seed_demo_cases(service: CaseService, check_photo: str | None = None) -> int:
    """Create the demo cases unless they exist; returns how many were created. `check_photo` is the id of a
    stored demo photo for the 核查 answers (they carry photos by default); without one those cases stay at
    their pending 核查 task."""
    async with service.engine.connect() as conn:
        existing = (await conn.execute(select(func.count()).where(cases.c.external_id.like("demo-%")))).scalar()
    if existing:
        return 0
    rng = random.Random(12319)
    for i, (code, text, address) in enumerate(COMPLAINTS * 2):
        phone = f"139{rng.randrange(10**8):08d}"
        new = NewCase("hotline", f"（演示）{text}", code, caller_phone=phone, address=address,
                      external_id=f"demo-{i:03d}")
        created = await service.create(new, AGENT)
        path = PATHS[i % len(PATHS)]
        if check_photo is None and any(name == "check_pass" for name, _, _ in path):
            path = path[:path.index(("request_check", AGENT, {})) + 1]
        await _walk(service, created.case_no, path, check_photo)
    return len(COMPLAINTS) * 2


async def _walk(service: CaseService, case_no: str, path: list[tuple[str, Actor | None, dict[str, object]]],
                check_photo: str | None = None) -> None:
    department = None
    for name, actor, params in path:
        if name == "dispatch":
            view = await service.reference()
            async with service.engine.connect() as conn:
                row = (await conn.execute(select(cases.c.suggested_department)
                                          .where(cases.c.case_no == case_no))).one()
            department = row.suggested_department or next(iter(view.departments))
            params = {"department": department}
        if name == "submit_result":
            actor = Actor(f"dept-{department}", Role.DEPARTMENT, department)
            params = {"notes": "已到场处置完毕（演示）"}
        if name == "check_pass":  # answered by whoever the task went to (the duty grid's inspector or the pool)
            async with service.engine.connect() as conn:
                task = await _check_task(conn, case_no)
            actor = Actor(task or INSPECTOR.username, Role.INSPECTOR)
            params = {"photos": [check_photo], "notes": "现场已处理完毕（演示）"}
        assert actor is not None
        await service.act(case_no, Command(name, actor, params=params))


async def _check_task(conn: AsyncConnection, case_no: str) -> str | None:
    row = (await conn.execute(select(case_requests.c.payload).join(cases, cases.c.id == case_requests.c.case_id)
                              .where(cases.c.case_no == case_no, case_requests.c.kind == "check",
                                     case_requests.c.state == "pending"))).first()
    return (row.payload or {}).get("assignee") if row else None
