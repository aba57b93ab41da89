"""The `probe` group itself: every command module is registered, and a broken one fails loudly."""

from __future__ import annotations

import importlib

import pytest

from probe.cli import main


def test_every_command_module_registers_commands() -> None:
    for name in main.COMMAND_MODULES:
        module = importlib.import_module(name)
        group = type(main.cli)(name="scratch")
        module.register(group)
        assert group.commands, f"{name} registered no command"
        assert set(group.commands) <= set(main.cli.commands), f"{name}'s commands are missing from `probe`"


def test_a_command_module_that_fails_to_import_is_not_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(main, "COMMAND_MODULES", ("probe.cli.no_such_module",))
    with pytest.raises(ModuleNotFoundError, match="probe.cli.no_such_module"):
        main._register_all()
