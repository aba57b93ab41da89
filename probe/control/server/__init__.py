"""The control helper: an ASGI app served by uvicorn behind a connection gate, measuring from
outside the censored network (DNS, endpoints, HTTP), guarded against becoming an open proxy."""
