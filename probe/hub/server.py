"""uvicorn around the hub's app, configured so no uploader's address is written anywhere.

The access log is off and proxy headers are ignored; the app never reads the client's address. With
`workers` > 1 uvicorn starts that many processes, each building the app from the settings passed in
the environment (`app_from_env`). This module runs the server; it does not check settings
(probe.hub.settings) or migrate (probe.hub.schema).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import uvicorn

from probe.hub.app import create_app
from probe.hub.settings import HubSettings, split_listen

SETTINGS_ENV = "PROBE_HUB_SETTINGS"


def stderr_log(line: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"{stamp} {line}", file=sys.stderr, flush=True)


def _options(settings: HubSettings) -> dict[str, Any]:
    host, port = split_listen(settings.listen)
    return {"host": host, "port": port, "access_log": False, "log_level": logging.WARNING, "proxy_headers": False,
            "server_header": False, "timeout_keep_alive": 5, "timeout_graceful_shutdown": 10, "lifespan": "on",
            "ws": "none"}


def uvicorn_config(*, settings: HubSettings, log: Callable[[str], None]) -> uvicorn.Config:
    return uvicorn.Config(create_app(settings=settings, log=log), **_options(settings))


def app_from_env() -> Any:
    """The app of one worker process: settings from the environment the parent set."""
    return create_app(settings=HubSettings.model_validate_json(os.environ[SETTINGS_ENV]), log=stderr_log)


def serve(*, settings: HubSettings, log: Callable[[str], None] = stderr_log) -> None:
    """Serve until SIGINT or SIGTERM (uvicorn's own handlers)."""
    if settings.workers == 1:
        uvicorn.Server(uvicorn_config(settings=settings, log=log)).run()
        return
    os.environ[SETTINGS_ENV] = settings.model_dump_json()
    uvicorn.run("probe.hub.server:app_from_env", factory=True, workers=settings.workers, **_options(settings))
