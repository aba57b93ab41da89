"""`probe hub …` (the collector on the hub host, and joining one) and `probe upload`.

On the hub host: serve, check, invite, revoke, probes — settings from the configuration file's [hub]
section, flags win. On the volunteer's machine: `probe hub join URL --token T` and `probe upload`.
Database and network trouble become one-line HubErrors; the work itself lives in probe.hub.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from probe.cli.daemon import config_option
from probe.cli.options import store_option
from probe.errors import ConfigError, HubError
from probe.i18n import _

if TYPE_CHECKING:
    from probe.hub.settings import HubSettings

# The hub's settings (pydantic), its database, server and uploader are imported when a command runs, not
# when the CLI is built: `probe hub --help` and `probe upload --help` read only the options.


def hub_settings(config_path: Path | None, **flags: Any) -> HubSettings:
    """[hub] from the configuration file (if there is one, or --config names one), flags on top."""
    from probe.config import default_config_path, load_config
    from probe.hub.settings import HubSettings

    path = config_path or default_config_path()
    base = load_config(path, check_files=False).hub if (config_path or path.exists()) else HubSettings()
    update = {k: v for k, v in flags.items() if v is not None}
    try:
        return HubSettings.model_validate({**base.model_dump(mode="json"), **update})
    except ValueError as exc:
        raise ConfigError(f"hub settings: {exc}".splitlines()[0] + " " + str(exc).splitlines()[-1].strip()) from exc


def _connect(settings: HubSettings) -> Any:
    import psycopg

    from probe.hub.schema import migrate

    try:
        conn = psycopg.connect(settings.database, autocommit=True, connect_timeout=10)
        migrate(conn)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HubError(_("cannot use the hub's database ({database}): {problem}").format(database=settings.database,
                                                                                          problem=first),
                       hint=_("is PostgreSQL running, and does [hub] database name it?")) from exc
    return conn


def _log(line: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    click.echo(f"{stamp} {line}", err=True)


def _database_option(func: Any) -> Any:
    return click.option("--database", help="PostgreSQL connection string (default: [hub] database).")(func)


@click.group("hub")
def hub_group() -> None:
    """The hub: a collector many probes upload signed evidence to (PostgreSQL).

    \b
    Example:
      probe hub serve --database "dbname=probe_hub" --listen 127.0.0.1:8480   # on the hub host
      probe hub invite --name "Almaty 3"                                      # prints a token
      probe hub join https://hub.example.org --token TOKEN                    # on the probe
    """


@hub_group.command("serve")
@config_option
@_database_option
@click.option("--listen", metavar="IP:PORT", help="Address to listen on (default: [hub] listen, 127.0.0.1:8480).")
@click.option("--max-concurrency", type=click.IntRange(1, 4096),
              help="Requests handled at once; more are answered 503 with Retry-After.")
def serve_command(config_path: Path | None, database: str | None, listen: str | None,
                  max_concurrency: int | None) -> None:
    """Serve the hub: probes join and upload; `/` shows the latest verdict per site and network.

    Applies the database's schema migrations first. Uploaders' addresses are never logged or stored.

    \b
    Example:
      probe hub serve --config /etc/probe/hub.toml
    """
    from probe.hub.server import serve

    settings = hub_settings(config_path, database=database, listen=listen, max_concurrency=max_concurrency)
    _connect(settings).close()
    _log(f"hub listening on http://{settings.listen}/")
    serve(settings=settings, log=_log)


@hub_group.command("check")
@config_option
@_database_option
def check_command(config_path: Path | None, database: str | None) -> None:
    """Validate the [hub] settings, connect to the database, bring its schema up to date.

    \b
    Example:
      probe hub check --config /etc/probe/hub.toml
    """
    settings = hub_settings(config_path, database=database)
    conn = _connect(settings)
    with conn:
        probes = conn.execute("SELECT count(*), count(revoked_at) FROM probes").fetchone()
        readers = conn.execute("SELECT count(*), count(revoked_at) FROM read_tokens").fetchone()
        names = [r[0] for r in conn.execute("SELECT name FROM hub_migrations ORDER BY name")]
    click.echo("# [hub] settings: valid; database reachable")
    for key, value in settings.model_dump(mode="json").items():
        click.echo(f"{key} = {value!r}")
    click.echo(f"# schema: {', '.join(names)}; probes enrolled: {probes[0]} ({probes[1]} revoked); "
               f"read tokens: {readers[0]} ({readers[1]} revoked)")


@hub_group.command("invite")
@click.option("--name", required=True, help="What to call the probe (or the reader), e.g. \"Almaty 3\".")
@click.option("--read", "read", is_flag=True,
              help="A read token for advocates (downloads bundles with `probe export --hub`), not a probe's invite.")
@config_option
@_database_option
def invite_command(name: str, read: bool, config_path: Path | None, database: str | None) -> None:
    """Print a one-time token that enrols one probe, or with --read a reader's token (stored only as hashes).

    \b
    Example:
      probe hub invite --name "Almaty 3"
      probe hub invite --read --name "KZ advocates"
    """
    from probe.hub.enrol import create_invite
    from probe.hub.readers import create_read_token

    with _connect(hub_settings(config_path, database=database)) as conn:
        if read:
            token, ident = create_read_token(conn, name=name)
        else:
            token = create_invite(conn, name=name)
    click.echo(token)
    if read:
        click.echo(f"# read token {ident} for {name.strip()!r}: probe export --hub URL --token {token} --out b.zip; "
                   f"revoke it with: probe hub revoke {ident}", err=True)
    else:
        click.echo(f"# give this to the volunteer of {name.strip()!r}: probe hub join URL --token {token}", err=True)


@hub_group.command("revoke")
@click.argument("key_fingerprint")
@config_option
@_database_option
def revoke_command(key_fingerprint: str, config_path: Path | None, database: str | None) -> None:
    """Refuse new uploads signed by this key (what it sent before stays, shown as from a revoked key),
    or refuse a read token from now on (its id, read:…, as `probe hub invite --read` printed it).

    \b
    Example:
      probe hub revoke ed25519:3f1c…
      probe hub revoke read:5d41402abc4b
    """
    from probe.hub.enrol import revoke
    from probe.hub.readers import ID_PREFIX, revoke_read_token

    with _connect(hub_settings(config_path, database=database)) as conn:
        if key_fingerprint.startswith(ID_PREFIX):
            name = revoke_read_token(conn, ident=key_fingerprint)
            click.echo(_("revoked read token {token} ({name}): it downloads nothing from now on").format(
                token=key_fingerprint, name=name))
            return
        name = revoke(conn, key_fingerprint=key_fingerprint)
    click.echo(_("revoked {fingerprint} ({name}): new uploads are refused; its earlier links are kept").format(
        fingerprint=key_fingerprint, name=name))


@hub_group.command("probes")
@config_option
@_database_option
def probes_command(config_path: Path | None, database: str | None) -> None:
    """List the enrolled probes (name, key, links stored, last upload, revoked), then the read tokens.

    \b
    Example:
      probe hub probes
    """
    from probe.hub.enrol import list_probes
    from probe.hub.readers import list_read_tokens

    with _connect(hub_settings(config_path, database=database)) as conn:
        rows = list_probes(conn)
        readers = list_read_tokens(conn)
    for reader in readers:
        state = f"revoked {reader.revoked_at:%Y-%m-%d}" if reader.revoked_at else "active"
        used = f"{reader.last_used_at:%Y-%m-%d %H:%M}" if reader.last_used_at else "never"
        click.echo(f"{reader.token_id}  {reader.name}  read token  last used {used}  {state}")
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
        last = f"{row.last_upload_at:%Y-%m-%d %H:%M}" if row.last_upload_at else "never"
        click.echo(f"{row.key_fingerprint}  {row.name}  {row.links} links  last upload {last}  {state}")
    if not rows:
        click.echo(_("no probes enrolled yet: `probe hub invite --name NAME`"))


@hub_group.command("join")
@click.argument("url")
@click.option("--token", required=True, help="The one-time token the hub's operator gave you.")
@click.option("--key", "key_path", type=click.Path(path_type=Path, dir_okay=False),
              help="The probe's signing key (default: the one `probe init` made).")
@store_option(help="The store whose links are uploaded (default: the configuration's store, else "
                   "results/probe.sqlite).")
@config_option
def join_command(url: str, token: str, key_path: Path | None, store_path: Path,
                 config_path: Path | None) -> None:
    """Enrol this probe's public key on a hub; the daemon then uploads after each run.

    \b
    Example:
      probe hub join https://hub.example.org --token TOKEN
    """
    from probe.evidence.keys import fingerprint, load_private_key, public_key_pem
    from probe.hub.upload import join_hub
    from probe.store import Store
    from probe.store.outbox import add_hub

    if not url.startswith(("http://", "https://")):
        raise HubError(_("{url} is not a hub URL").format(url=repr(url)), hint=_("e.g. {example}").format(
            example="https://hub.example.org"))
    key = load_private_key(key_path or _configured_key(config_path))
    pem = public_key_pem(key.public_key()).decode("ascii")
    result = asyncio.run(join_hub(hub_url=url, token=token, public_key_pem=pem))
    if result.key_fingerprint != fingerprint(key.public_key()):
        raise HubError(_("the hub enrolled a different key than this probe's: it is not a probe hub to trust"))
    with Store.open(store_path) as store:
        add_hub(store, hub_url=url, hub_name=result.name, key_fingerprint=result.key_fingerprint)
    click.echo(_("joined {url} as {name} with key {fingerprint}; `probe upload` sends what is stored, the daemon "
                 "uploads after each run").format(url=url, name=repr(result.name), fingerprint=result.key_fingerprint))


@hub_group.command("export")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The bundle to write (.zip).")
@click.option("--site", "host", help="Only this site (host name).")
@click.option("--asn", help="Only this network (AS number, e.g. AS9198).")
@click.option("--since", help="Only measurements from this UTC time on (ISO-8601 prefix, e.g. 2026-03-01).")
@click.option("--until", help="Only measurements up to this UTC time (ISO-8601 prefix).")
@click.option("--limit", type=click.IntRange(min=1), help="Only the newest N measurements.")
@config_option
@_database_option
def export_command(out: Path, host: str | None, asn: str | None, since: str | None, until: str | None,
                   limit: int | None, config_path: Path | None, database: str | None) -> None:
    """Write one bundle of many probes' signed measurements and its report, checkable offline (`probe verify`).

    \b
    Example:
      probe hub export --out who-int.zip --site who.int --since 2026-03-01
    """
    from probe.hub.export import ExportFilter, export_bundle

    filt = ExportFilter(host=host, asn=asn, since=since, until=until, limit=limit)
    with _connect(hub_settings(config_path, database=database)) as conn:
        try:
            summary = export_bundle(conn, out, filt=filt)
        except OSError as exc:
            raise HubError(_("cannot write the bundle {path}: {problem}").format(path=out,
                                                                                  problem=exc.strerror or exc)) from exc
    click.echo(_("wrote {path}: {count} measurements ({links} signed links) from {probes} probe(s); check it "
                 "with: probe verify {path}").format(path=out, count=summary.measurements, links=summary.links,
                                                    probes=summary.probes))


@hub_group.command("verify")
@click.argument("bundle", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.pass_context
def verify_command(ctx: click.Context, bundle: Path) -> None:
    """The same as `probe verify BUNDLE` (kept for scripts that call it; it checks hub bundles too).

    \b
    Example:
      probe hub verify who-int.zip
    """
    from probe.cli.evidence import verify_command as verify

    ctx.invoke(verify, bundle=bundle, store_path=None, expected=None, key_path=None, quiet=False)


@click.command("upload")
@store_option(help="The store to upload from (default: the configuration's store, else results/probe.sqlite).")
@config_option
def upload_command(store_path: Path, config_path: Path | None) -> None:
    """Send every hub this probe joined the signed measurements it has not acknowledged yet.

    Safe to repeat and to interrupt: the hub keeps each measurement once, and what it acknowledged is
    not sent again. Exit status 1 when a hub could not take everything (the reason is printed).

    \b
    Example:
      probe upload
    """
    from probe.hub.upload import upload_all
    from probe.store import Store
    from probe.store.outbox import hubs

    with Store.open(store_path, create=False) as store:
        if not hubs(store):
            raise HubError(_("this probe has joined no hub"), hint="probe hub join URL --token TOKEN")
        outcomes = asyncio.run(upload_all(store))
    failed = False
    for outcome in outcomes:
        stopped = _("; stopped: {problem}").format(problem=outcome.error) if outcome.error else ""
        click.echo(_("{hub}: sent {sent} ({stored} new on the hub)").format(hub=outcome.hub_url, sent=outcome.sent,
                                                                          stored=outcome.stored) + stopped)
        failed = failed or outcome.error is not None
    if failed:
        raise click.exceptions.Exit(1)


def _configured_key(config_path: Path | None) -> Path | None:
    from probe.config import default_config_path, load_config

    path = config_path or default_config_path()
    if config_path is None and not path.exists():
        return None
    return load_config(path, check_files=False).key

