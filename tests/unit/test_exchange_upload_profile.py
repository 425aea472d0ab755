"""Upward upload profiles (data): an http export needs its target; the shipped one loads and maps both streams."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ticketing.exchange.export import ExportProfile, load_export_profile


def test_an_http_export_without_a_target_is_refused() -> None:
    with pytest.raises(ValidationError):
        ExportProfile(name="x", label="x", kind="http", cases={"a": "case_no"}, events={"a": "event_id"})


def test_the_shipped_upload_profile_has_the_file_exports_field_maps() -> None:
    upload, files = load_export_profile("yunguanfu-http"), load_export_profile("yunguanfu")
    assert upload.kind == "http" and files.kind == "file"
    assert upload.cases == files.cases and upload.events == files.events
    assert upload.upload is not None and set(upload.upload.paths) == {"cases", "events"}
    assert upload.upload.answer.duplicate_values == ("DUPLICATE",)
