"""The control helper's default limits: one definition the server and `probe control serve`'s options share.

Nothing is imported here, so `probe control serve --help` can show them without importing the server
(Starlette, uvicorn, pydantic).
"""

from __future__ import annotations

# A probe measures 64 URLs at once by default and lets up to 4× as many wait for their control's
# answer (the runner's SETTLING_FACTOR): 256 questions can be in flight. Its client caps itself at
# 128 exchanges (probe.control.client.api.DEFAULT_MAX_CONNECTIONS), queueing the rest within their
# timeout. The helper's limit is twice that cap, so one probe at full speed never meets a 503 (which
# would cost its URLs their control) and a second probe, or a lab check, still fits; the limit stays
# a guard against floods, not a quota.
DEFAULT_MAX_CONCURRENCY = 256
DEFAULT_BODY_CAP = 512 * 1024  # the probe's default snapshot cap: equal caps make lengths comparable
DEFAULT_BUDGET_S = 30.0  # seconds one request may take, from DNS to the last redirect
