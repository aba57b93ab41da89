"""The control helper (server/, run outside the censored network) and the probe's client for it (client/).

    server/app.py        the HTTP API as an ASGI app (Starlette): limits, routing, one log line per request
    server/serve.py      uvicorn behind the connection gate (server/gate.py), TLS or behind a proxy
    server/helper.py     one request's measurement: DNS, endpoints, HTTP, within a time budget
    server/endpoints.py  the helper's DNS and TCP/TLS steps (reusing probe.net), guarded per address
    server/fetch.py      GET over a measured connection, redirects (probe.net.fetch), the summary that leaves
    server/guard.py      which addresses the helper may reach (public, or an allowed CIDR)
    client/api.py        the probe's side: helpers in order, 503/Retry-After, DoH fallback (httpx)
    client/whoami.py     the public addresses the helpers see the probe at, before a run
    client/doh.py        DNS over HTTPS (RFC 8484), the DNS-only control of last resort
"""
