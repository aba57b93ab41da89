"""An advocate's side: download a bundle from a hub with a read token (`probe export --hub`).

The hub writes the same bundle `probe hub export` writes on its host (probe.hub.export); this only
carries it here. The body is streamed to disk in a staging folder beside the destination (the one
`probe export` uses, probe.evidence.bundle.staging), so memory does not grow with the bundle and a killed
download leaves nothing behind; the file is renamed into place only once it is complete and is a hub
bundle. Checking the links is `probe verify`'s job, offline, afterwards.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import httpx

from probe.errors import HubError
from probe.evidence.bundle.staging import staged_zip, staging_folder
from probe.failures import classify_exception
from probe.hub.bundle_verify import is_hub_bundle
from probe.hub.export import ExportFilter
from probe.hub.upload import api_url
from probe.i18n import _

CHUNK = 1 << 16


@dataclass(frozen=True)
class Downloaded:
    path: Path
    size: int


def download_bundle(*, hub_url: str, token: str, out: Path, filt: ExportFilter, overwrite: bool = False,
                    timeout_s: float = 600.0, verify: str | bool = True) -> Downloaded:
    """GET /api/v1/bundle with the filters, into `out`; HubError (one line) on any refusal or failure."""
    if not hub_url.startswith(("http://", "https://")):
        raise HubError(_("{url} is not a hub URL").format(url=repr(hub_url)),
                       hint=_("e.g. {example}").format(example="https://hub.example.org"))
    if out.exists() and not overwrite:
        raise HubError(_("{path} exists; nothing was written").format(path=out),
                       hint=_("choose another --out, or add --force"))
    params = {k: str(v) for k, v in (("site", filt.host), ("asn", filt.asn), ("since", filt.since),
                                      ("until", filt.until), ("limit", filt.limit)) if v is not None}
    with staging_folder(out) as root:
        part = staged_zip(root, out)
        size = _fetch(api_url(hub_url, "/api/v1/bundle"), params, token.strip(), part, timeout_s, verify)
        if not is_hub_bundle(part):
            raise HubError(_("the hub at {url} sent something that is not a hub bundle; nothing was written").format(
                url=hub_url))
        os.replace(part, out)
    return Downloaded(path=out, size=size)


def _fetch(url: str, params: dict[str, str], token: str, part: Path, timeout_s: float,
           verify: str | bool) -> int:
    size = 0
    try:
        with httpx.stream("GET", url, params=params, headers={"authorization": f"Bearer {token}"},
                          timeout=httpx.Timeout(timeout_s, connect=30.0), verify=verify) as answer:
            if answer.status_code != 200:
                answer.read()
                raise HubError(_refusal(answer))
            with part.open("wb") as sink:
                for chunk in answer.iter_bytes(CHUNK):
                    sink.write(chunk)
                    size += len(chunk)
    except httpx.HTTPError as exc:
        raise HubError(_("the hub did not answer: {problem}").format(problem=classify_exception(exc)),
                       hint=_("check the URL and that the hub runs (`probe hub serve`)")) from exc
    except OSError as exc:
        raise HubError(_("cannot write beside {path}: {problem}").format(path=part.parent.parent,
                                                                            problem=exc.strerror or exc)) from exc
    return size


def _refusal(answer: httpx.Response) -> str:
    try:
        error = answer.json().get("error")
    except (ValueError, AttributeError):
        error = None
    reason = str(error)[:300] if error else f"HTTP {answer.status_code}"
    if answer.status_code == 401:
        return _("the hub refused the read token: {reason}").format(reason=reason)
    return _("the hub refused the bundle ({status}): {reason}").format(status=answer.status_code, reason=reason)
