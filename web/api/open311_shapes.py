"""Open311 GeoReport v2 response shapes, one table for XML and JSON (the spec's "Spark convention").

Every response is a root element holding items (`services`/`service`, `service_requests`/`request`,
`errors`/`error`, FixMyStreet's `service_requests_updates`/`request_update`), or one object for a service
definition and the discovery document. Lists inside an item are a plural element holding singular ones
(`attributes`/`attribute`, `values`/`value`, `endpoints`/`endpoint`, `formats`/`format`); JSON writes the
same structure as arrays and objects. Every field the spec lists is present, empty (XML) or null (JSON) when
unknown, in the spec's order.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from web.json import json_response

ROOTS = {
    "service": "services",
    "request": "service_requests",
    "error": "errors",
    "request_update": "service_requests_updates",
}
SINGULAR = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}
SERVICE_FIELDS = ("service_code", "service_name", "description", "metadata", "type", "keywords", "group")
REQUEST_FIELDS = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)
CREATED_FIELDS = ("service_request_id", "service_notice", "account_id")
UPDATE_FIELDS = (
    "update_id",
    "service_request_id",
    "status",
    "updated_datetime",
    "description",
    "media_url",
    "external_status_code",
)
# Our states as FixMyStreet's servicerequestupdates statuses (the values its open311-adapter emits).
UPDATE_STATUS = {
    "reported": "open",
    "accepted": "investigating",
    "registered": "action_scheduled",
    "dispatched": "in_progress",
    "handled": "in_progress",
    "backlog": "action_scheduled",
    "closed": "fixed",
    "invalid": "no_further_action",
}
_ROAD = re.compile(r"^(.*?(?:大道|公路|路|街|巷|弄|道))")


def respond_items(fmt: str, element: str, items: list[Mapping[str, Any]], status: int = 200) -> web.Response:
    if fmt == "xml":
        root = ET.Element(ROOTS[element])
        for item in items:
            _fill(ET.SubElement(root, element), item)
        return _xml_response(root, status)
    return json_response([dict(i) for i in items], status=status)


def respond_object(fmt: str, element: str, item: Mapping[str, Any], status: int = 200) -> web.Response:
    if fmt == "xml":
        root = ET.Element(element)
        _fill(root, item)
        return _xml_response(root, status)
    return json_response(dict(item), status=status)


def errors(fmt: str, status: int, *descriptions: str) -> web.Response:
    return respond_items(fmt, "error", [{"code": status, "description": d} for d in descriptions], status)


def _xml_response(root: ET.Element, status: int) -> web.Response:
    body = '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="unicode")
    return web.Response(text=body, status=status, content_type="text/xml", charset="utf-8")


def _fill(node: ET.Element, item: Mapping[str, Any]) -> None:
    for key, value in item.items():
        child = ET.SubElement(node, key)
        if isinstance(value, Mapping):
            _fill(child, value)
        elif isinstance(value, list):
            for entry in value:
                grand = ET.SubElement(child, SINGULAR.get(key, "item"))
                if isinstance(entry, Mapping):
                    _fill(grand, entry)
                else:
                    grand.text = _text(entry)
        else:
            child.text = _text(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def ordered(fields: tuple[str, ...], values: Mapping[str, Any]) -> dict[str, Any]:
    """Exactly the spec's fields, in its order; a field we do not know is None."""
    return {name: values.get(name) for name in fields}


def road_level(address: str | None) -> str | None:
    """An address cut after its road (海滨东路120号3幢 → 海滨东路); None when no road is named."""
    if not address:
        return None
    found = _ROAD.match(address.strip())
    return found.group(1) if found else None


def coarse(value: float | None) -> float | None:
    """A coordinate rounded to 0.001° (about 100 m): where on the road, not which door."""
    return None if value is None else round(value, 3)


def condition_attribute(register_condition: str) -> dict[str, Any]:
    """The class's 立案条件 as one singlevaluelist attribute: does what the citizen saw meet it?"""
    return {
        "variable": True,
        "code": "meets_condition",
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": "请选择一项",
        "order": 1,
        "description": f"立案条件：{register_condition}。您反映的情况是否符合？",
        "values": [
            {"key": "yes", "name": "符合"},
            {"key": "unsure", "name": "不确定"},
            {"key": "no", "name": "不符合"},
        ],
    }
