"""Every module that declares tables, imported once, so `metadata` is complete (Alembic autogenerate, tests).

Each package owns its tables next to its adapters; only the composition root may import them all.
"""

import callcenter.tables
import core.tables
import ticketing.db.tables
import ticketing.evaluation.tables
import ticketing.exchange.tables
import ticketing.geo.tables
import ticketing.inspection.tables
import ticketing.notify.tables
import transcribe.tables
import web.reports.tables
import web.tables
from core.db.base import metadata

TABLE_MODULES = (core.tables, ticketing.db.tables, ticketing.geo.tables, ticketing.notify.tables, transcribe.tables,
                 callcenter.tables, web.tables, web.reports.tables, ticketing.exchange.tables,
                 ticketing.inspection.tables, ticketing.evaluation.tables)

__all__ = ["TABLE_MODULES", "metadata"]
