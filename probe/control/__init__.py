"""The control helper (server, run outside the censored network) and the probe's client for it.

    server.py    HTTPS JSON API (asyncio + ssl + h11): limits, routing, one log line per request
    helper.py    one request's measurement: DNS, endpoints, HTTP, within a time budget
    endpoints.py the helper's DNS and TCP/TLS steps (reusing probe.net), guarded per address
    fetch.py     GET over a measured connection, redirects, the summary that leaves the helper
    guard.py     which addresses the helper may reach (public, or an allowed CIDR)
    client.py    the probe's side: helpers in order, 503/Retry-After, DoH fallback
    doh.py       DNS over HTTPS (RFC 8484), the DNS-only control of last resort
"""
