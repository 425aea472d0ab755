"""Typed application keys shared by the web layer and feature setups."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from config.settings import Settings
from ticketing.services import CaseService

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
CASES = web.AppKey("cases", CaseService)
# Feature services registered by their setup functions (geo locator, call runtime, speech), by name.
SERVICES = web.AppKey("services", dict[str, Any])
