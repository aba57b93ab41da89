"""uvicorn around the hub's app, configured so no uploader's address is written anywhere.

The access log is off and proxy headers are ignored; the app never reads the client's address. This
module runs the server; it does not check settings (probe.hub.settings) or migrate (probe.hub.schema).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import uvicorn

from probe.hub.app import create_app
from probe.hub.settings import HubSettings, split_listen


def uvicorn_config(*, settings: HubSettings, log: Callable[[str], None]) -> uvicorn.Config:
    host, port = split_listen(settings.listen)
    return uvicorn.Config(
        create_app(settings=settings, log=log), host=host, port=port, access_log=False,
        log_level=logging.WARNING, proxy_headers=False, server_header=False, timeout_keep_alive=5,
        timeout_graceful_shutdown=10, lifespan="on", ws="none")


def serve(*, settings: HubSettings, log: Callable[[str], None]) -> None:
    """Serve until SIGINT or SIGTERM (uvicorn's own handlers)."""
    uvicorn.Server(uvicorn_config(settings=settings, log=log)).run()
