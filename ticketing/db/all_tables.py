"""Import every module that declares tables, so `metadata` is complete for Alembic and tests."""

import importlib
import importlib.util

from ticketing.db import tables  # noqa: F401
from ticketing.db.base import metadata

# Feature packages own their tables next to their adapters.
TABLE_MODULES = ("ticketing.geo.tables", "callcenter.tables", "transcribe.tables", "ticketing.notify.tables",
                 "web.tables")


def _import_present() -> None:
    for name in TABLE_MODULES:
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:
            spec = None
        if spec is not None:
            importlib.import_module(name)


_import_present()

__all__ = ["metadata"]
