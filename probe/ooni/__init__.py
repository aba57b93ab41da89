"""OONI's measurements coming in: read OONI's files, map their test keys to our observations, store
them as third-party evidence classified by our rules (`probe import ooni`).

    read.py      stream measurements out of .json / .jsonl / gzip files, naming each bad line file:line
    mapping.py   one OONI web_connectivity measurement -> our Measurement + HTTP bodies (pure)
    control.py   OONI's test helper answer -> our ControlResponse (pure; used by mapping.py)
    fields.py    small readers of OONI's field values: failure names, addresses, hosts, binary data
    importer.py  read -> map -> classify -> ThirdPartyStore, in batches, counting what it skipped

Our own measurements go out in OONI's format from `probe.evidence.ooni.export`, not from here.
"""
