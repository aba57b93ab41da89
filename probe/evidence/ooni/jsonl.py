"""`probe export --format ooni`: the selected measurements as one OONI web_connectivity JSONL file.

The same lines, byte for byte, as a bundle's `ooni/web_connectivity.jsonl` (`ooni_export.to_ooni`),
for researchers who load OONI data with OONI's tools and need no signature. Like the bundle, it is
written to a temporary name and renamed, and refused (nothing written) if the probe's own address,
given or remembered, appears in it. It does not sign, and it leaves out OONI measurements imported
with `probe import ooni` (they are OONI's: get them from OONI).
"""

from __future__ import annotations

import os
from pathlib import Path

from probe.errors import EvidenceError
from probe.evidence.keys import own_address_memory
from probe.evidence.ooni.export import to_ooni
from probe.evidence.privacy import scan_for_addresses
from probe.models.canonical import canonical_json
from probe.store import EntryFilter, Store


def export_ooni_jsonl(store: Store, out: Path, *, filt: EntryFilter, scrub_ips: tuple[str, ...] = (),
                      overwrite: bool = False) -> int:
    """Write one OONI line per selected measurement; returns how many. EvidenceError if none, or a leak."""
    if out.exists() and not overwrite:
        raise EvidenceError(f"{out} already exists; nothing was written", hint="choose another --out or --force")
    try:
        scan_for_addresses(b"", scrub_ips)
    except ValueError as exc:
        raise EvidenceError(f"--scrub-ip: {exc}") from exc
    memory = own_address_memory(store.path, create=False)
    partial = out.with_name(out.name + ".partial")
    count = 0
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as handle:
            for entry in store.entries(filt):
                m = entry.measurement()
                line = canonical_json(to_ooni(m, entry.verdict, store.artifact)) + b"\n"
                own = (m.control.client_ip,) if m.control is not None and m.control.client_ip else ()
                if scan_for_addresses(line, (*scrub_ips, *own), memory=memory):
                    raise EvidenceError(f"refusing to export: the probe's address appears in measurement "
                                        f"{m.measurement_id}; nothing was written",
                                        hint="export a selection without it")
                handle.write(line)
                count += 1
        if not count:
            raise EvidenceError("nothing to export: no measurement matches the selection; nothing was written",
                                hint="check the filters with `probe results`")
        os.replace(partial, out)
    except OSError as exc:
        raise EvidenceError(f"cannot write {out}: {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return count
