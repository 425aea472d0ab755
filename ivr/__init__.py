"""IVR: what a caller hears and presses. Pure sessions that decide; the telephony runtime executes.

- `ivr.inbound.InboundSession(flow)` — the 12319 inbound call; `ivr.survey.SurveySession(flow, case)` — the
  satisfaction survey on outbound callbacks. Both: `handle(event, now) -> list[IvrAction]`, `.finished`,
  `.state`, `.path`.
- `ivr.session_events` (what the runtime reports), `ivr.actions` (what it must do), `ivr.speech`
  (fragments → prompt ids).
- `ivr.loader` loads `ivr/flows/*.yaml` and the prompt catalogue; audio is `ivr/prompts/zh/<id>.wav`.
See docs/ivr.md.
"""
