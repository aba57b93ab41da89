"""Human-readable rendering of one stored measurement, step by step, as `probe show` prints it."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text


def _ms(obs: dict[str, Any]) -> str:
    return f"{(obs['t'] - obs['t0']) * 1000:.0f} ms"


def _steps(record: dict[str, Any]) -> Table:
    table = Table(title="observations", show_lines=False)
    for col in ("t0 (s)", "step", "target", "result", "took"):
        table.add_column(col, overflow="fold")
    rows: list[tuple[float, str, str, str, str]] = []
    for q in record.get("queries", []):
        answers = ", ".join(a.get("ipv4") or a.get("ipv6") or a.get("hostname") or "" for a in q["answers"])
        late = f" +{len(q['late_replies'])} late replies" if q.get("late_replies") else ""
        where = q["resolver_address"] or "system"
        rows.append((q["t0"], f"dns {q['engine']} {q['query_type']}", f"{q['hostname']} @ {where}",
                     (q["failure"] or answers or "no answer") + late, _ms(q)))
    for c in record.get("tcp_connect", []):
        rows.append((c["t0"], "tcp connect", f"{c['ip']}:{c['port']}", c["failure"] or "connected", _ms(c)))
    for h in record.get("tls_handshakes", []):
        kind = "tls decoy" if h["is_decoy"] else "tls handshake"
        issuer = (h.get("validation") or {}).get("leaf_issuer")
        ok = f"{h['tls_version']} issuer={issuer}" if h["tls_version"] else ""
        rows.append((h["t0"], kind, f"{h['ip']}:{h['port']} sni={h['server_name']}", h["failure"] or ok, _ms(h)))
    for g in record.get("registry") or []:  # names that resolve nowhere (dns.takedown)
        said = g["failure"] or (", ".join(g["statuses"]) if g["statuses"] else
                                "no such name" if g["found"] is False else "no status")
        raw = f" raw sha256 {g['raw_sha256'][:12]}…" if g.get("raw_sha256") else ""
        rows.append((g["t0"], f"registry {g['protocol']}", f"{g['domain']} @ {g['server']}", said + raw, _ms(g)))
    for r in record.get("requests", []):
        resp = r.get("response") or {}
        result = r["failure"] or f"{resp.get('code')} {resp.get('title') or ''} ({resp.get('body_length')} B)"
        rows.append((r["t0"], "http get", r["request"]["url"], result, _ms(r)))
    for t0, step, target, result, took in sorted(rows, key=lambda row: row[0]):
        table.add_row(f"{t0:.3f}", step, target, result, took)
    return table


def _control(record: dict[str, Any]) -> Text:
    control = record.get("control")
    if not control:
        return Text(f"control: none ({record.get('control_failure')})", style="yellow")
    http = control.get("http") or {}
    dns = control["dns"]
    registry = (control.get("registry") or {}).get("observation")
    held = (f"; registry {registry['protocol']} {registry['failure'] or ', '.join(registry['statuses']) or '-'}"
            if registry else "")
    return Text(f"control ({control['helper']}): dns {dns['failure'] or ', '.join(dns['addresses'])}; "
                f"http {http.get('failure') or http.get('status_code')} title={http.get('title')!r} "
                f"length={http.get('body_length')}{held}")


def render_measurement(mid: str, record: dict[str, Any], verdict: dict[str, Any] | None, link: str) -> Group:
    net = record["network"]
    head = Text(f"{record['input']}\nmeasured {record['test_start_time']} from {net['probe_asn']} "
                f"{net['probe_network_name']} ({net['probe_cc']}), resolver {net['resolver_address'] or '-'}\n"
                f"id {mid}  chain {link[:16]}…")
    if verdict:
        reasons = "\n".join(f"  • {r}" for r in verdict["reasons"])
        verdict_text = Text(f"verdict: {verdict['label']} ({verdict['confidence']}), OONI blocking="
                            f"{verdict['blocking']}\n{reasons}", style="bold")
    else:
        verdict_text = Text("verdict: unclassified")
    return Group(Panel(head), _steps(record), _control(record), verdict_text)
