"""NotifySettings: the `notify` section (timers, SMS channel, callbacks, webhooks). Defaults work on loopback."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HttpGatewaySettings(_Section):
    """An HTTP SMS gateway as Chinese providers offer it: a request template and a signature over fields.

    Templates are jinja2 strings rendered with phone, text, timestamp, nonce, app_key and sign; the signature
    is computed first over `sign_template` (same variables minus sign).
    """

    url: str = "http://127.0.0.1:9090/sms/send"
    method: Literal["POST", "GET"] = "POST"
    content_type: Literal["application/json", "application/x-www-form-urlencoded"] = "application/json"
    body_template: str = ('{"appKey": "{{ app_key }}", "mobile": "{{ phone }}", "content": {{ text | tojson }}, '
                          '"timestamp": "{{ timestamp }}", "nonce": "{{ nonce }}", "sign": "{{ sign }}"}')
    headers: dict[str, str] = {}
    app_key: str = "hotline"
    secret: str = ""
    sign_algorithm: Literal["hmac-sha256", "md5", "none"] = "hmac-sha256"
    sign_template: str = "{{ app_key }}{{ phone }}{{ timestamp }}{{ nonce }}"
    sign_uppercase: bool = False
    success_contains: str = ""  # text the response body must contain for success ("" = any 2xx)
    timeout_s: float = Field(5.0, gt=0, le=60)
    # Texts citizens send back arrive as the gateway's callback (POST /api/v1/sms/inbound): its field names,
    # and the signature over `inbound_sign_template` (same algorithm and secret as sending).
    inbound_fields: dict[str, str] = {"phone": "mobile", "text": "content", "message_id": "msgId",
                                      "timestamp": "timestamp", "nonce": "nonce", "sign": "sign"}
    inbound_sign_template: str = "{{ app_key }}{{ phone }}{{ text }}{{ timestamp }}{{ nonce }}"
    inbound_window_s: int = Field(300, ge=10, le=86400)


class NotifySettings(_Section):
    scheduler_enabled: bool = True
    deadline_interval_s: int = Field(60, ge=1)
    outbox_interval_s: int = Field(10, ge=1)
    callbacks_interval_s: int = Field(30, ge=1)
    # 督办 thresholds on the handling clock: "yellow", "due", "due+24h", "due-2h" (hours, calendar time).
    reminders: tuple[str, ...] = ("yellow", "due", "due+24h")
    escalate_at_red: bool = True
    sms_channel: Literal["log", "sip", "http"] = "log"
    sms_events: tuple[str, ...] = ("accepted", "dispatched", "closed", "survey")
    sip_sender: str = "12319"
    sip_to_template: str = "pjsip:{number}"
    http: HttpGatewaySettings = HttpGatewaySettings()
    template_dir: str | None = None  # site overrides, searched before the shipped templates
    max_attempts: int = Field(6, ge=1, le=50)
    retry_base_s: float = Field(30.0, gt=0)
    retry_max_s: float = Field(3600.0, gt=0)
    rate_limit_count: int = Field(5, ge=1)
    rate_limit_window_min: int = Field(60, ge=1)
    batch_size: int = Field(100, ge=1, le=10000)
    callback_window: tuple[str, str] = ("09:00", "20:00")
    callback_delay_min: int = Field(30, ge=0)
    callback_retries: int = Field(2, ge=0, le=10)
    callback_retry_interval_min: int = Field(30, ge=1)
    callback_sms_survey: bool = True
    webhook_timeout_s: float = Field(5.0, gt=0, le=60)
    webhook_max_attempts: int = Field(8, ge=1, le=50)
    webhook_allow_http: bool = False  # plain http:// webhook URLs (demo and tests only)
    webhook_allow_private: bool = False  # loopback/private targets (tests with a local receiver only)
    catch_up_hours: int = Field(24, ge=0)

    @field_validator("reminders")
    @classmethod
    def _thresholds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from ticketing.notify.domain.deadlines import parse_threshold

        for item in value:
            parse_threshold(item)
        return value

    @field_validator("callback_window")
    @classmethod
    def _window(cls, value: tuple[str, str]) -> tuple[str, str]:
        from ticketing.notify.domain.window import parse_window

        parse_window(value)
        return value

