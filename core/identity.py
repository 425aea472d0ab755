"""Who acts: the platform's roles and the actor that issues a command (pure, shared by every package)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"  # 受理员
    LEAD = "lead"  # 值班长
    DISPATCHER = "dispatcher"  # 派遣员
    DEPARTMENT = "department"  # 专业部门
    INSPECTOR = "inspector"  # 监督员
    ADMIN = "admin"  # 管理员
    LEADER = "leader"  # 领导: reads everything evaluative, changes nothing
    SYSTEM = "system"  # the platform itself (callbacks, sweeps)

    @property
    def label(self) -> str:
        return {"agent": "受理员", "lead": "值班长", "dispatcher": "派遣员", "department": "专业部门",
                "inspector": "监督员", "admin": "管理员", "leader": "领导",
                "system": "系统"}[self.value]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who issues a command. Department users are bound to exactly one department."""

    username: str
    role: Role
    department_code: str | None = None
