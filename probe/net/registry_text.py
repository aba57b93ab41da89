"""Read a registry's answer: whether it knows the name, and the status values it wrote.

Pure and bounded: a hostile or broken answer yields `found=None` and no statuses, never an exception.
RDAP (RFC 9083) is JSON with a `status` array of RFC 8056 values ("server hold"); WHOIS (port 43) is
free text, read line by line: a line whose key names a status ("Domain Status:", .kz's
"Domain status :", .ru's "state:") and the indented lines that continue it. What a status means is
the classifier's business (probe.classify.registry).
"""

from __future__ import annotations

import json
import re

MAX_STATUSES = 64
MAX_STATUS_CHARS = 200
# Phrases registries answer for a name they do not hold (.kz: "Nothing found"; others as listed).
_NOT_FOUND = re.compile(r"nothing found|no entries found|no match for|^not found|no data found|domain not found|"
                        r"no object found|status:\s*(free|available)", re.IGNORECASE | re.MULTILINE)
_STATUS_KEY = re.compile(r"^\s*(?:domain\s+)?(?:status|state)\s*[.\s]*:\s*(.*)$", re.IGNORECASE)
_URL = re.compile(r"\s*\(?https?://\S+\)?")


def _clean(value: str) -> str:
    value = _URL.sub("", value).strip()
    return value[:MAX_STATUS_CHARS]


def parse_whois(text: str) -> tuple[bool | None, list[str]]:
    """(found, statuses) from a WHOIS answer."""
    statuses: list[str] = []
    in_status = False
    for line in text.splitlines():
        match = _STATUS_KEY.match(line)
        if match:
            in_status = True
            value = match.group(1)
            parts = value.split(",") if "," in value and " - " not in value else [value]
            statuses.extend(c for p in parts if (c := _clean(p)))
        elif in_status and line[:1] in (" ", "\t") and line.strip() and ":" not in line.split(" - ")[0]:
            if value := _clean(line):  # an indented continuation of the status list (.kz)
                statuses.append(value)
        else:
            in_status = False
        if len(statuses) >= MAX_STATUSES:
            break
    if statuses:
        return True, statuses[:MAX_STATUSES]
    if _NOT_FOUND.search(text):
        return False, []
    return (True if re.search(r"domain\s*name", text, re.IGNORECASE) else None), []


def parse_rdap(data: bytes, *, status_code: int | None) -> tuple[bool | None, list[str]]:
    """(found, statuses) from an RDAP domain answer and its HTTP status (404: no such name)."""
    if status_code == 404:
        return False, []
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, []
    if not isinstance(doc, dict) or status_code != 200:
        return None, []
    raw = doc.get("status")
    statuses = [_clean(s) for s in raw if isinstance(s, str) and s.strip()] if isinstance(raw, list) else []
    found = doc.get("objectClassName") == "domain" or bool(statuses)
    return found, statuses[:MAX_STATUSES]
