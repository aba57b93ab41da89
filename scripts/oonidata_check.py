"""Load every line of OONI JSONL files with oonidata's own measurement loader; print each rejection.

Run with the separate environment `scripts/bootstrap --dev` makes (oonidata pins older packages than
the probe's): `.venv-ooni/bin/python scripts/oonidata_check.py FILE.jsonl...`. Prints one line per
rejected measurement (`file:line: why`) and `checked N` at the end; exits 1 if any was rejected.

Besides oonidata's loader (which types every field: an rcode that is no integer is refused), it checks
what OONI's observation pipeline assumes of a web_connectivity line: the loader picked the
web_connectivity model, every TLS handshake in `tls_handshakes` is for a host the measurement fetched
(the input's, a redirect's, one it looked up: an extra handshake with another server name, such as a decoy, makes
the pipeline's analysis stop), and measurement_uid and report_id are set.
"""

from __future__ import annotations

import json
import sys
from urllib.parse import urlsplit

from oonidata.dataclient import load_measurement
from oonidata.models.nettests.web_connectivity import WebConnectivity


def problems(line: str) -> list[str]:
    raw = json.loads(line)
    msmt = load_measurement(msmt=raw)
    if not isinstance(msmt, WebConnectivity):
        return [f"loaded as {type(msmt).__name__}, not WebConnectivity"]
    out = []
    urls = [raw["input"], *(r.request.url for r in msmt.test_keys.requests or [] if r.request)]
    hosts = {_host(url) for url in urls} | {q.hostname.lower().rstrip(".") for q in msmt.test_keys.queries or []}
    for tls in msmt.test_keys.tls_handshakes or []:
        if (tls.server_name or "").lower() not in hosts:
            out.append(f"tls_handshakes holds server_name {tls.server_name!r}, not one of {sorted(hosts)}")
    for key in ("measurement_uid", "report_id"):
        if not raw.get(key):
            out.append(f"{key} is empty")
    return out


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.encode("idna").decode("ascii") if not host.isascii() else host


def main(paths: list[str]) -> int:
    checked = bad = 0
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                checked += 1
                try:
                    found = problems(line)
                except Exception as exc:  # noqa: BLE001 -- any refusal by the loader is the finding
                    found = [f"{type(exc).__name__}: {str(exc)[:300]}"]
                for why in found:
                    print(f"{path}:{number}: {why}")
                bad += bool(found)
    print(f"checked {checked}, rejected {bad}")
    return 1 if bad or not checked else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
