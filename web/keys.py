"""Typed application keys shared by the web layer and feature setups."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from config.settings import Settings
from core.bus import EventBus
from ticketing.services import CaseService

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
CASES = web.AppKey("cases", CaseService)
# The one clock of the app (a fake one in tests): token expiry, deadlines, audit times.
CLOCK = web.AppKey("clock", Callable[[], datetime])
# The in-process event bus: case, call, agent and queue events for consoles and wallboards.
BUS = web.AppKey("bus", EventBus)
# Feature services registered by their setup functions (geo locator, call runtime, speech), by name.
SERVICES = web.AppKey("services", dict[str, Any])
