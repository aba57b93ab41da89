"""The one tree of errors the probe raises on purpose. The CLI catches `ProbeError` and prints one line.

    ProbeError                 anything a user can fix: always has a message, often a hint
    ├── ConfigError            a configuration or scenario file is wrong (names the file and key)
    ├── InputError             a URL, target list or argument is wrong (names the input)
    ├── StoreError             the store cannot be opened, written or read
    ├── EvidenceError          keys, bundles or verification cannot proceed
    ├── LabError               the censorship lab cannot be built or driven (e.g. not root)
    └── HubError               the hub's database or a hub cannot be reached, or refuses

Network failures are never errors: they are data (failure strings in observations).
"""

from __future__ import annotations

from probe.i18n import _


class ProbeError(Exception):
    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        # The message and hint are translated where they are raised (those a volunteer meets); the frame here.
        return self.message if not self.hint else _("{message} (hint: {hint})").format(message=self.message,
                                                                                      hint=self.hint)


class ConfigError(ProbeError):
    pass


class InputError(ProbeError):
    pass


class StoreError(ProbeError):
    pass


class EvidenceError(ProbeError):
    pass


class LabError(ProbeError):
    pass


class HubError(ProbeError):
    pass
