"""A target: one URL to measure, as listed in a Citizen Lab-format test list."""

from __future__ import annotations

from probe.models.base import Frozen


class Target(Frozen):
    url: str
    category_code: str = ""
    category_description: str = ""
    date_added: str = ""
    source: str = ""
    notes: str = ""
