"""The effective configuration as TOML: every key with the value the probe will use, defaults included.

What `probe config check` prints. The output is itself a valid configuration file (a test reads it
back), so a volunteer can start from it. Unset optional keys are shown commented out.
"""

from __future__ import annotations

import json
from typing import Any

from probe.config.model import ProbeConfig


def render_config(config: ProbeConfig) -> str:
    data = config.model_dump(mode="json")
    lines: list[str] = []
    _table(lines, data, prefix="", skip=frozenset({"schedule"}))
    for entry in data["schedule"]:
        lines += ["", "[[schedule]]"]
        _pairs(lines, entry)
    return "\n".join(lines).strip() + "\n"


def _table(lines: list[str], data: dict[str, Any], *, prefix: str, skip: frozenset[str] = frozenset()) -> None:
    _pairs(lines, {k: v for k, v in data.items() if k not in skip and not isinstance(v, dict)})
    for key, value in data.items():
        if key in skip or not isinstance(value, dict):
            continue
        name = f"{prefix}{key}"
        lines += ["", f"[{name}]"]
        _table(lines, value, prefix=f"{name}.")


def _pairs(lines: list[str], data: dict[str, Any]) -> None:
    for key, value in data.items():
        if isinstance(value, dict):
            continue
        if value is None:
            lines.append(f"# {key} = (not set)")
        else:
            lines.append(f"{key} = {_value(value)}")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")
