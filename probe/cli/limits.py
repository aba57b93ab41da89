"""The process's own limits, raised where a command needs more than the usual defaults."""

from __future__ import annotations

import resource


def raise_file_limit() -> None:
    """Open sockets need descriptors: a control helper holds ~10 per request, and a run up to ~10 per
    open measurement (every address of a host, decoys, DNS), with 4 × --parallel of them open while
    censored hosts keep some waiting. The usual soft limit of 1,024 is too low; the hard one is not.
    Running out would record `EMFILE` as a measurement's failure, which would be false evidence."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError):
        pass  # best effort: what runs still works, it just has fewer descriptors
