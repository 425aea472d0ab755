"""Build the call runtime from the telephony settings (web/lifecycle.py starts and stops it with the app).

The runtime publishes on the app-wide bus and answers the IVR's progress queries from the case tables.
"""

from __future__ import annotations

from callcenter.agent_sessions import SqlAgentSessions
from callcenter.ari.client import AriClient
from callcenter.callback_requests import CallbackRequests
from callcenter.case_lookup import CaseLookup
from callcenter.records import SqlCallRecords
from callcenter.rig.confgen import ari_password
from callcenter.runtime import CallRuntime
from callcenter.settings import TelephonySettings
from core.bus import EventBus


def build_runtime(tel: TelephonySettings, records: SqlCallRecords | None, *, bus: EventBus | None = None,
                  case_lookup: CaseLookup | None = None, sessions: SqlAgentSessions | None = None,
                  callback_requests: CallbackRequests | None = None) -> CallRuntime:
    """The runtime; agent sessions are kept next to the call records unless a store is given."""
    client = AriClient(tel.ari_url, tel.ari_user, ari_password(tel), tel.app_name)
    if sessions is None and records is not None:
        sessions = SqlAgentSessions(records.engine)
    return CallRuntime(tel, client, records=records, bus=bus, case_lookup=case_lookup, sessions=sessions,
                       callback_requests=callback_requests)
