"""The telephony features get the small CallContext, never the runtime (issue 12, item 3): only the runtime
itself, the module that builds it and the CallControl port's implementation on it know `CallRuntime`."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KNOW_THE_RUNTIME = {"callcenter/runtime.py", "callcenter/app.py", "callcenter/control.py"}


def mentions_the_runtime(source: str) -> list[str]:
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "callcenter.runtime":
            found.append(f"{node.lineno}: from callcenter.runtime import ...")
        elif isinstance(node, ast.Import) and any(a.name == "callcenter.runtime" for a in node.names):
            found.append(f"{node.lineno}: import callcenter.runtime")
        elif isinstance(node, ast.Name) and node.id == "CallRuntime":
            found.append(f"{node.lineno}: CallRuntime")
        elif isinstance(node, ast.Constant) and node.value == "CallRuntime":  # a string annotation
            found.append(f"{node.lineno}: 'CallRuntime'")
    return found


def test_no_feature_module_imports_or_receives_the_runtime() -> None:
    offenders = []
    for path in sorted((ROOT / "callcenter").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name not in KNOW_THE_RUNTIME:
            offenders += [f"{name}:{hit}" for hit in mentions_the_runtime(path.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_check_sees_a_type_checking_import_and_a_string_annotation() -> None:
    source = "if TYPE_CHECKING:\n    from callcenter.runtime import CallRuntime\ndef f(rt: 'CallRuntime'): ...\n"
    assert mentions_the_runtime(source) == ["2: from callcenter.runtime import ...", "3: 'CallRuntime'"]
