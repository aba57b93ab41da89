"""What a verification found: failures (evidence does not hold), warnings, and notes, each placed.

`where` names the file or the measurement (and seq) so a person can find what failed. A result with
no failure is a pass; warnings say what could not be checked (e.g. a signature by an older key).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from probe.i18n import N_, _

Level = Literal["fail", "warn", "note"]


@dataclass(frozen=True)
class Finding:
    level: Level
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class VerifyResult:
    subject: str
    findings: list[Finding] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)  # what was checked and passed, by kind
    key_fingerprint: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "fail"]

    def fail(self, where: str, message: str) -> None:
        self.findings.append(Finding("fail", where, message))

    def warn(self, where: str, message: str) -> None:
        self.findings.append(Finding("warn", where, message))

    def note(self, where: str, message: str) -> None:
        self.findings.append(Finding("note", where, message))


def measurement_label(measurement_id: str, seq: int | None = None) -> str:
    if seq is None:
        return _("measurement {id}").format(id=measurement_id)
    return _("measurement {id} (seq {seq})").format(id=measurement_id, seq=seq)


# The names of what a verification counts (`checked`) that are made from a link's kind: the CLI
# translates every name it prints, and these are listed here so that the catalogs hold them.
CHECKED_BY_KIND: tuple[str, ...] = (
    N_("measurement signatures"), N_("verdict signatures"), N_("key signatures"), N_("run signatures"),
    N_("measurement records"), N_("verdict records"), N_("key records"), N_("run records"),
)
