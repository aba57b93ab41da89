"""The Citizen Lab category legend: which category codes exist, their descriptions, old codes.

The legend ships inside the package (`probe/targets/data/00-LEGEND-new_category_codes.csv`, copied
verbatim from citizenlab/test-lists; CC BY-NC-SA 4.0, see data/SOURCE.txt). A different legend can
be loaded from a path and passed to the validator. This module reads the legend; it does not check
lists against it (that is `probe.targets.validate`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from probe.errors import InputError
from probe.i18n import _

LEGEND_FILE = "00-LEGEND-new_category_codes.csv"
_LEGEND_HEADER = ["Category Description", "New Code", "Replaces old code(s)", "Description"]


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    description: str  # the short name written in a list's category_description column
    explanation: str
    replaces: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Legend:
    categories: Mapping[str, Category]
    legacy: Mapping[str, str]  # old code -> the code that replaced it (only unambiguous ones)

    def __contains__(self, code: object) -> bool:
        return code in self.categories

    def description(self, code: str) -> str:
        return self.categories[code].description

    def codes(self) -> list[str]:
        return sorted(self.categories)


def parse_legend(text: str, *, name: str = LEGEND_FILE) -> Legend:
    """Parse the text of a Citizen Lab new-category legend CSV."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [cell.strip() for cell in rows[0]] != _LEGEND_HEADER:
        raise InputError(_("{name}: not a Citizen Lab category legend").format(name=name),
                         hint=_("the first line must be {header}").format(header=",".join(_LEGEND_HEADER)))
    categories: dict[str, Category] = {}
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != 4 or not row[1].strip():
            raise InputError(_("{name}:{number}: expected 4 columns with a code in the second").format(name=name,
                                                                                                number=number),
                             hint=_("compare with the upstream legend file"))
        description, code, replaces, explanation = (cell.strip() for cell in row)
        old = tuple(c for c in replaces.split() if c != "N/A" and c != code)
        categories[code] = Category(code, description, explanation, old)
    return Legend(categories, _legacy_map(categories.values()))


def _legacy_map(categories: Iterable[Category]) -> dict[str, str]:
    seen: dict[str, set[str]] = {}
    for category in categories:
        for old in category.replaces:
            seen.setdefault(old, set()).add(category.code)
    return {old: next(iter(new)) for old, new in seen.items() if len(new) == 1}


def load_legend(path: Path) -> Legend:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(_("cannot read category legend {path}: {problem}").format(path=path, problem=exc),
                         hint=_("give a UTF-8 Citizen Lab legend CSV")) from exc
    return parse_legend(text, name=str(path))


@lru_cache(maxsize=1)
def default_legend() -> Legend:
    """The legend shipped with the probe."""
    text = resources.files("probe.targets").joinpath("data", LEGEND_FILE).read_text(encoding="utf-8")
    return parse_legend(text)


def parse_categories(text: str, *, legend: Legend | None = None) -> set[str]:
    """'LGBT,HUMR' -> {'LGBT', 'HUMR'}; InputError naming any code the legend does not know."""
    legend = legend or default_legend()
    codes = {part.strip().upper() for part in text.split(",") if part.strip()}
    if not codes:
        raise InputError(_("no category codes given"), hint=_("write e.g. --category LGBT,HUMR"))
    unknown = sorted(codes - set(legend.categories))
    if unknown:
        replaced = [_("{code} (now {new})").format(code=c, new=legend.legacy[c]) for c in unknown if c in legend.legacy]
        old = _("; old codes: {codes}").format(codes=", ".join(replaced)) if replaced else ""
        raise InputError(_("unknown category code(s): {codes}").format(codes=", ".join(unknown)) + old,
                         hint=_("known codes: {codes}").format(codes=", ".join(legend.codes())))
    return codes
