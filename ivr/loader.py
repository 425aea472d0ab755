"""Load flows and the prompt catalogue from the YAML files shipped in ivr/ (reads files, nothing else)."""

from __future__ import annotations

from pathlib import Path

import yaml

from ivr.flow_spec import FlowError, FlowT, InboundFlow, SurveyFlow, parse_flow
from ivr.speech import NUMBER_PROMPTS

IVR_DIR = Path(__file__).resolve().parent
FLOWS_DIR = IVR_DIR / "flows"
PROMPTS_FILE = IVR_DIR / "prompts" / "prompts.yaml"
PROMPTS_DIR = IVR_DIR / "prompts" / "zh"


def load_prompt_catalogue(path: Path = PROMPTS_FILE) -> dict[str, str]:
    """Prompt id -> Mandarin text. Audio for id X is `PROMPTS_DIR / f"{X}.wav"`."""
    data = _read_yaml(path)
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise FlowError(f"{path}: expected a mapping of prompt id to text")
    missing = sorted(set(NUMBER_PROMPTS) - set(data))
    if missing:
        raise FlowError(f"{path}: number prompts missing: {', '.join(missing)}")
    return {str(k): v for k, v in data.items()}


def load_inbound_flow(path: Path = FLOWS_DIR / "hotline.yaml", check_prompts: bool = True) -> InboundFlow:
    return _load(InboundFlow, path, check_prompts)


def load_survey_flow(path: Path = FLOWS_DIR / "survey.yaml", check_prompts: bool = True) -> SurveyFlow:
    return _load(SurveyFlow, path, check_prompts)


def _load(model: type[FlowT], path: Path, check_prompts: bool) -> FlowT:
    flow = parse_flow(model, _read_yaml(path), str(path))
    try:
        flow.check_prompts(load_prompt_catalogue() if check_prompts else None)
    except ValueError as exc:
        raise FlowError(f"{path}: {exc}") from None
    return flow


def _read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FlowError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise FlowError(f"{path}: not valid YAML ({exc})") from None
