"""The hub: a collector on PostgreSQL that many probes upload their signed chain links to.

    wire.py      what travels between probe and hub (pydantic, frozen, extra="forbid")
    settings.py  the configuration file's [hub] section
    schema.py    the hub's PostgreSQL schema as numbered migrations
    verify.py    checks of one batch of links: sizes, schema, hashes, signatures (pure, no I/O)
    db.py        enrolment, ingest and reading, over a psycopg connection pool
    app.py       the Starlette app (upload, join, the read-only page)
    server.py    uvicorn around the app, with no client addresses anywhere
    upload.py    the probe's side: the outbox sent in batches with httpx
    readers.py   advocates' read tokens (stored hashed, revocable)
    export.py    one bundle of many probes, streamed from the database
    bundle_*.py  that bundle's format, report (facts from the signed links, then HTML) and offline check
    fetch.py     the advocate's side: `probe export --hub` downloads a bundle with a read token
"""
