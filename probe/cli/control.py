"""`probe control serve`: run the control helper (the uncensored vantage the probe compares with) on uvicorn.

Parses and checks options, builds the helper's settings and TLS context, listens until SIGINT or
SIGTERM. Bad options become one-line errors (ProbeError); the helper itself lives in probe.control.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from probe.cli.options import registry_option
from probe.control.defaults import DEFAULT_BODY_CAP, DEFAULT_BUDGET_S, DEFAULT_MAX_CONCURRENCY
from probe.errors import ConfigError, InputError
from probe.i18n import _

if TYPE_CHECKING:
    from probe.control.server.serve import ControlServer
    from probe.identity import AsnDatabase

# The helper (Starlette, uvicorn, pydantic) is imported when the command runs, not when the CLI is
# built: `probe control --help` and `probe control serve --help` read only the options below.

_FILE = click.Path(path_type=Path, exists=True, dir_okay=False)


def parse_listen(text: str) -> tuple[str, int]:
    """'0.0.0.0:8443', '[::]:443' → (ip, port); InputError otherwise (the parsing is the hub's `listen`'s)."""
    from probe.config.hub import split_listen

    try:
        return split_listen(text)
    except ValueError as exc:
        raise InputError(_("{option} needs {form}, got {value}").format(option="--listen", form="IP:PORT",
                                                                          value=repr(text)),
                         hint=_("e.g. {example}").format(example="--listen 0.0.0.0:443 --listen [::]:443")) from exc


def _check_resolver(resolver: str | None) -> str | None:
    if resolver is None:
        return None
    from probe.models.settings import split_resolver

    try:
        ip, port = split_resolver(resolver)
        ipaddress.ip_address(ip)
    except ValueError as exc:
        raise InputError(_("{option} needs {form}, got {value}").format(option="--resolver", form="IP[:PORT]",
                                                                          value=repr(resolver)),
                         hint=_("e.g. {example}").format(example="--resolver 9.9.9.9")) from exc
    if not 0 < port <= 65535:
        raise InputError(_("--resolver port out of range: {value}").format(value=repr(resolver)))
    return resolver


def _tls(cert: Path, key: Path) -> ssl.SSLContext:
    from probe.control.server.serve import server_ssl_context

    try:
        return server_ssl_context(str(cert), str(key))
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise ConfigError(_("cannot load the helper's certificate {cert} and key {key}: {problem}").format(
            cert=cert, key=key, problem=exc),
                          hint=_("give a PEM certificate chain and its unencrypted PEM private key")) from exc


def _asn_db(path: Path | None) -> AsnDatabase | None:
    """The operator's IP-to-ASN database, loaded once before listening (a bad file: ConfigError)."""
    if path is None:
        return None
    from probe.identity import AsnDatabase

    database = AsnDatabase.open(path)
    _log(f"naming probes' networks from {path}")
    return database


def _log(line: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    click.echo(f"{stamp} {line}", err=True)


async def _serve(server: ControlServer, listen: list[tuple[str, int]]) -> None:
    try:
        bound = await server.start(listen)
    except OSError as exc:
        await server.close()
        addresses = ", ".join(f"{h}:{p}" for h, p in listen)
        raise InputError(_("cannot listen on {addresses}: {problem}").format(addresses=addresses,
                                                                             problem=exc.strerror or exc),
                         hint=_("is another process using the port? ports below 1024 need privileges")) from exc
    scheme = "https" if server.gate.ssl_context is not None else "http"
    for host, port in bound:
        shown = f"[{host}]" if ":" in host else host
        click.echo(_("control helper listening on {url}").format(url=f"{scheme}://{shown}:{port}/"), err=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.close()
        click.echo(_("control helper stopped"), err=True)


@click.group("control")
def control_group() -> None:
    """The control helper: an uncensored vantage that measures the same URL for comparison.

    \b
    Example:
      probe control serve --listen 0.0.0.0:443 --cert helper.pem --key helper.key
    """


@control_group.command("serve")
@click.option("--listen", "listens", multiple=True, required=True, metavar="IP:PORT",
              help="Address to listen on (repeat for more, e.g. IPv4 and IPv6).")
@click.option("--cert", type=_FILE, help="PEM certificate chain the helper presents (TLS by the helper).")
@click.option("--key", type=_FILE, help="PEM private key of that certificate.")
@click.option("--plain-http", is_flag=True,
              help="Serve plain HTTP instead, for a TLS reverse proxy in front (listen on loopback).")
@click.option("--trust-proxy", "proxies", multiple=True, metavar="IP",
              help="A reverse proxy whose X-Forwarded-For names the client (repeat; not limited per client).")
@click.option("--ca-bundle", type=_FILE, help="Roots for the sites' certificates (default: certifi's Mozilla roots).")
@click.option("--resolver", metavar="IP[:PORT]", help="Resolve over UDP with this resolver (default: the system's).")
@click.option("--allow", "allows", multiple=True, metavar="CIDR",
              help="Allow targets in this range although private/reserved (repeat; labs only).")
@click.option("--max-concurrency", type=click.IntRange(1, 4096), default=DEFAULT_MAX_CONCURRENCY, show_default=True,
              help="Requests measured at once; more are answered 503 with Retry-After.")
@click.option("--max-body", type=click.IntRange(1024, 64 * 1024 * 1024), default=DEFAULT_BODY_CAP,
              show_default=True, help="Bytes of each site's body read (hash and similarity cover these).")
@click.option("--budget", type=click.FloatRange(1.0, 300.0), default=DEFAULT_BUDGET_S, show_default=True,
              help="Seconds one request may take; step timeouts shrink to fit (keep it below the probe's wait).")
@click.option("--log-clients", is_flag=True, help="Put requesters' addresses in the log (off: privacy).")
@click.option("--asn-db", type=_FILE,
              help="IP-to-ASN database (iptoasn .tsv(.gz) or .mmdb): tell each probe its network's ASN, "
                   "country and name, so volunteers need no database of their own.")
@registry_option
def serve_command(listens: tuple[str, ...], cert: Path | None, key: Path | None, plain_http: bool,
                  proxies: tuple[str, ...], ca_bundle: Path | None, resolver: str | None, allows: tuple[str, ...],
                  max_concurrency: int, max_body: int, budget: float, log_clients: bool, asn_db: Path | None,
                  registries: dict[str, str]) -> None:
    """Serve the control API (POST /api/v1/control) over HTTPS (uvicorn), for probes to compare with.

    Run it outside the censored network. It resolves each URL itself, connects to its own and the
    probe's addresses (never to private, loopback or link-local ones unless --allow names them),
    fetches the page and answers with a summary: no page content leaves the helper.

    \b
    Example:
      probe control serve --listen 0.0.0.0:443 --listen [::]:443 \\
          --cert /etc/probe/helper.pem --key /etc/probe/helper.key --resolver 9.9.9.9
      # the lab's helper:
      probe control serve --listen 198.18.0.80:443 --cert lab.pem --key lab.key \\
          --ca-bundle lab-ca.pem --allow 10.77.0.0/16 --allow 198.18.0.0/15 --allow fd77::/16
      # behind nginx, which does TLS (deploy/nginx-control.conf):
      probe control serve --listen 127.0.0.1:8080 --plain-http --trust-proxy 127.0.0.1
    """
    from probe.cli.eventloop import run
    from probe.cli.limits import raise_file_limit
    from probe.control.server.guard import AddressGuard, normalise_ip, parse_cidrs
    from probe.control.server.serve import ControlServer
    from probe.control.server.settings import HelperSettings

    listen = [parse_listen(text) for text in listens]
    if plain_http == (cert is not None or key is not None) or (cert is None) != (key is None):
        raise InputError(_("give --cert and --key (the helper does TLS), or --plain-http (a reverse proxy does)"),
                         hint=_("e.g. {example}").format(
                             example="--cert /etc/probe/helper.pem --key /etc/probe/helper.key"))
    for proxy in proxies:
        if normalise_ip(proxy) is None:
            raise InputError(_("--trust-proxy needs an IP address, got {value}").format(value=repr(proxy)),
                             hint=_("e.g. {example}").format(example="--trust-proxy 127.0.0.1"))
    settings = HelperSettings(resolver=_check_resolver(resolver), ca_bundle=ca_bundle,
                              guard=AddressGuard(allow=parse_cidrs(allows)), body_cap=max_body,
                              registries=registries).with_budget(budget)
    context = _tls(cert, key) if cert is not None and key is not None else None
    database = _asn_db(asn_db)
    server = ControlServer(settings=settings, ssl_context=context, max_concurrency=max_concurrency,
                           trusted_proxies=[str(normalise_ip(p)) for p in proxies], log=_log, log_clients=log_clients,
                           asn_db=database)
    raise_file_limit()
    with contextlib.suppress(KeyboardInterrupt):
        run(_serve(server, listen))
