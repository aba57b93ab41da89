"""The hub's read-only pages: the latest verdict per site × network with each probe's chain health, and
per site a timeline (day × network × label) with a link to that site's bundle.

Server-rendered HTML with inline CSS, no JavaScript and no external requests. Every value is escaped.
A label is marked "unsigned" when only the probe's upload annotation says it (not a signed verdict
link); a probe whose key was revoked is marked so, with what it sent before still shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import quote

import psycopg

_LATEST = ("SELECT l.host, l.probe_asn, l.input, l.test_start_time, l.label, l.label_signed, l.key_fingerprint, "
           "p.name, p.revoked_at FROM latest l JOIN probes p USING (key_fingerprint) ORDER BY l.host, l.probe_asn")
_PROBES = ("SELECT p.key_fingerprint, p.name, p.revoked_at, p.last_upload_at, "
           "(SELECT count(*) FROM chain_events e WHERE e.key_fingerprint = p.key_fingerprint AND e.kind = 'gap' "
           " AND e.resolved_at IS NULL), "
           "(SELECT count(*) FROM chain_events e WHERE e.key_fingerprint = p.key_fingerprint AND e.kind = 'fork'), "
           "(SELECT count(*) FROM chain_events e WHERE e.key_fingerprint = p.key_fingerprint "
           " AND e.kind = 'clock_ahead') FROM probes p ORDER BY p.name")


@dataclass
class PageData:
    latest: list[tuple[Any, ...]] = field(default_factory=list)
    probes: list[tuple[Any, ...]] = field(default_factory=list)


async def read_page(conn: psycopg.AsyncConnection[Any]) -> PageData:
    latest = await (await conn.execute(_LATEST)).fetchall()
    probes = await (await conn.execute(_PROBES)).fetchall()
    return PageData(latest=list(latest), probes=list(probes))


def read_latest(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """The same rows as the page's table, over a plain connection (benchmarks, exports)."""
    return list(conn.execute(_LATEST).fetchall())


def render_page(data: PageData) -> str:
    rows = "".join(
        f"<tr><td><a href=\"/site?host={quote(host)}\">{escape(host)}</a></td><td>{escape(asn)}</td>"
        f"<td class=l>{escape(label or 'unclassified')}"
        f"{'' if signed else ' <small>(unsigned)</small>'}</td><td>{escape(when[:19].replace('T', ' '))}</td>"
        f"<td>{escape(name)}{' <b>(revoked key)</b>' if revoked else ''}<br><small>{escape(fp)}</small></td></tr>"
        for host, asn, _input, when, label, signed, fp, name, revoked in data.latest)
    probes = "".join(
        f"<tr><td>{escape(name)}{' <b>(revoked)</b>' if revoked else ''}</td><td><small>{escape(fp)}</small></td>"
        f"<td>{escape(str(last)[:19]) if last else 'never'}</td><td>{gaps}</td><td>{forks}</td><td>{ahead}</td></tr>"
        for fp, name, revoked, last, gaps, forks, ahead in data.probes)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>probe hub: latest verdicts</title>
<style>body{{font:14px sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}small{{color:#666}}</style></head>
<body><h1>Latest verdict per site and network</h1>
<p>Each row is the newest measurement of a site from a network (AS number), with the probe that
signed it. Every measurement here verifies offline against that probe's key.</p>
<table><tr><th>site</th><th>network</th><th>verdict</th><th>measured (UTC)</th><th>probe</th></tr>
{rows or '<tr><td colspan=5>no measurements yet</td></tr>'}</table>
<h2>Probes</h2>
<table><tr><th>name</th><th>key</th><th>last upload (UTC)</th><th>open gaps</th><th>forks refused</th>
<th>clock ahead</th></tr>
{probes or '<tr><td colspan=6>no probes enrolled</td></tr>'}</table>
</body></html>
"""


_TIMELINE = ("SELECT substr(test_start_time, 1, 10) AS day, probe_asn, coalesce(label, 'unclassified'), count(*), "
             "count(DISTINCT key_fingerprint) FROM links WHERE host = %s AND kind = 'measurement' "
             "GROUP BY 1, 2, 3 ORDER BY 1 DESC, 2, 3 LIMIT 2000")


async def read_timeline(conn: psycopg.AsyncConnection[Any], *, host: str) -> list[tuple[Any, ...]]:
    return list(await (await conn.execute(_TIMELINE, (host.lower(),))).fetchall())


def render_timeline(host: str, rows: list[tuple[Any, ...]]) -> str:
    """One site: per day and network, each label with how many measurements and probes saw it."""
    body = "".join(f"<tr><td>{escape(day)}</td><td>{escape(asn)}</td><td class=l>{escape(label)}</td>"
                   f"<td>{count}</td><td>{probes}</td></tr>" for day, asn, label, count, probes in rows)
    site = escape(host)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>probe hub: {site}</title>
<style>body{{font:14px sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}</style></head>
<body><p><a href="/">all sites</a></p><h1>{site}: timeline</h1>
<p><a href="/bundle?site={quote(host)}">Download every measurement of {site} as one bundle</a> (each probe's
signed links; check it offline with <code>probe verify</code>).</p>
<table><tr><th>day (UTC)</th><th>network</th><th>verdict (probe's label)</th><th>measurements</th>
<th>probes</th></tr>
{body or '<tr><td colspan=5>no measurements of this site</td></tr>'}</table></body></html>
"""
