"""Evidence commands: `probe init`, `probe key show`, `probe export`, `probe verify`, `probe report`.

Thin: each command parses options, calls `probe.evidence`, and prints. Library errors propagate as
`ProbeError` (main prints one line); a failed verification is a result, printed in full, exit 1.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from probe import __version__
from probe.cli.damage import store_read_errors
from probe.cli.options import store_option
from probe.errors import EvidenceError, InputError
from probe.i18n import LANGUAGES, _, current_language

if TYPE_CHECKING:
    from probe.store import EntryFilter

# The store and probe.evidence are imported when a command runs, not when the CLI is built:
# `probe COMMAND --help` reads only the options below.

F = TypeVar("F", bound=Callable[..., Any])
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]*Z?)?$")


def key_option(func: F) -> F:
    return click.option("--key", "key_path", type=click.Path(path_type=Path), default=None,
                        help="The probe's private key file (default: $PROBE_KEY, else "
                             "~/.config/probe/probe_ed25519.key).")(func)


def filter_options(func: F) -> F:
    options = [
        click.option("--url", help="Only this URL (exact)."),
        click.option("--host", help="Only this host name."),
        click.option("--category", help="Only this Citizen Lab category code (e.g. NEWS, POLR)."),
        click.option("--since", help="From this UTC date or time (ISO-8601, e.g. 2026-11-01)."),
        click.option("--until", help="Up to this UTC date (the whole day) or time."),
        click.option("--verdict", help="Only this verdict label, or 'blocked' for any censorship verdict."),
        click.option("--asn", help="Only measurements from this network (e.g. AS9198)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def make_filter(url: str | None, host: str | None, category: str | None, since: str | None, until: str | None,
                verdict: str | None, asn: str | None) -> EntryFilter:
    from probe.models import VERDICT_LABELS
    from probe.store import EntryFilter

    for name, value in (("--since", since), ("--until", until)):
        if value and not _DATE.match(value):
            raise InputError(_("{option} {value} is not a UTC date or time").format(option=name, value=repr(value)),
                             hint=_("use e.g. 2026-11-01"))
    if verdict and verdict != "blocked" and verdict not in VERDICT_LABELS:
        raise InputError(_("--verdict {value} is not a verdict label").format(value=repr(verdict)),
                         hint=_("use 'blocked' or one of: {labels}").format(labels=", ".join(VERDICT_LABELS)))
    if until and len(until) == 10:
        until += "T23:59:59.999999Z"  # a bare date means the whole of that day
    return EntryFilter(url=url, host=host, category=category, since=since, until=until, verdict=verdict,
                       asn=asn.upper() if asn else None)


def confirm(text: str) -> None:
    """click.confirm with the answer accepted in the volunteer's language too (y/yes, д/да, и/иә)."""
    answer = click.prompt(f"{text} [{_('y/N')}]", default="", show_default=False, prompt_suffix=" ")
    if answer.strip().lower() not in {"y", "yes", _("y"), _("yes")}:
        raise click.exceptions.Abort()


@click.command("init")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (the explanation is printed anyway).")
@key_option
def init_command(yes: bool, key_path: Path | None) -> None:
    """Explain what running a probe may reveal, then make this probe's signing key.

    \b
    Example:
      probe init
      PROBE_KEY=/srv/probe/key probe init --yes
    """
    from probe.evidence.consent import consent_text, question
    from probe.evidence.keys import default_key_path, fingerprint, generate_key, load_private_key

    path = key_path or default_key_path()
    if "results" in path.expanduser().resolve().parent.parts:
        # results/ is what volunteers copy and share: a key there would travel with the evidence.
        raise InputError(_("--key {path}: the signing key must live outside results/ (sharing results would "
                           "share the key)").format(path=path),
                         hint=_("leave --key out (it goes to ~/.config/probe/), or pick another folder"))
    click.echo(consent_text())
    if path.exists():
        click.echo(_("This probe already has a key ({path}); it was kept.").format(path=path))
        click.echo(_("Key fingerprint: {fingerprint}").format(
            fingerprint=fingerprint(load_private_key(path).public_key())))
        return
    if not yes:
        confirm(question())
    key = generate_key(path)
    click.echo(_("Made the signing key {path} (readable only by you; back it up, never share it).").format(path=path))
    click.echo(_("Key fingerprint: {fingerprint}").format(fingerprint=fingerprint(key.public_key())))
    click.echo(_("Publish this fingerprint where people who receive your evidence can find it."))


@click.group("key")
def key_group() -> None:
    """The probe's signing key.

    \b
    Example:
      probe key show
    """


@key_group.command("show")
@key_option
@click.option("--pem", is_flag=True, help="Also print the public key (PEM), e.g. to publish it.")
def key_show_command(key_path: Path | None, pem: bool) -> None:
    """Print the fingerprint of this probe's public key (what you publish).

    \b
    Example:
      probe key show
      probe key show --pem > probe-public-key.pem
    """
    from probe.evidence.keys import default_key_path, fingerprint, load_private_key, public_key_pem

    path = key_path or default_key_path()
    public = load_private_key(path).public_key()
    if pem:
        click.echo(public_key_pem(public).decode("ascii"), nl=False)
        return
    click.echo(fingerprint(public))
    click.echo(_("(key file: {path})").format(path=path), err=True)


@click.command("export")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="The bundle to write (.zip), or the .jsonl file with --format ooni.")
@click.option("--format", "fmt", type=click.Choice(["bundle", "ooni"]), default="bundle", show_default=True,
              help="bundle: the signed evidence zip; ooni: only OONI web_connectivity JSONL (unsigned), "
                   "the lines the bundle's ooni/web_connectivity.jsonl holds.")
@store_option
@filter_options
@key_option
@click.option("--scrub-ip", "scrub_ips", multiple=True, metavar="ADDR",
              help="Also refuse to export if this address appears anywhere (the addresses this probe "
                   "learned in its runs are always checked). Repeatable.")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@store_read_errors
@click.option("--lang", "languages", multiple=True, type=click.Choice(["ru", "kk"]),
              help="Also write report.LANG.html and VERIFY.LANG.txt in Russian (ru) or Kazakh (kk); the English "
                   "ones are always included. Repeatable.")
@click.option("--hub", "hub_url", metavar="URL",
              help="Download the bundle of many probes from this hub instead (needs --token; filters --host, "
                   "--asn, --since, --until).")
@click.option("--token", envvar="PROBE_HUB_TOKEN", help="The hub's read token (or $PROBE_HUB_TOKEN).")
def export_command(out: Path, fmt: str, store_path: Path, key_path: Path | None, scrub_ips: tuple[str, ...],
                   force: bool, languages: tuple[str, ...], hub_url: str | None, token: str | None,
                   **filters: str | None) -> None:
    """Write a signed evidence bundle: measurements, artifacts, OONI JSONL, report and how to verify it.

    \b
    Example:
      probe export --out kz-2026-11.zip --since 2026-11-01 --until 2026-11-30
      probe export --out selftanu.zip --host selftanu.kz --verdict blocked --scrub-ip 203.0.113.7
      probe export --format ooni --out kz.jsonl --since 2026-11-01
      probe export --hub https://hub.example.org --token TOKEN --out who-int.zip --host who.int
    """
    if hub_url is not None:
        _export_from_hub(hub_url, token, out, force, fmt, scrub_ips, languages, filters)
        return
    if fmt == "ooni":
        _export_ooni(out, store_path, scrub_ips, force, filters)
        return
    from probe.evidence.bundle.export import export_bundle
    from probe.evidence.keys import default_key_path, load_private_key
    from probe.store import Store

    key = load_private_key(key_path or default_key_path())
    filt = make_filter(**filters)
    with Store.open(store_path, create=False) as store:
        result = export_bundle(store, out, key=key, filt=filt, scrub_ips=scrub_ips, overwrite=force,
                               languages=languages)
    m = result.manifest
    gaps = sum(b - a + 1 for a, b in m.chain.gaps)
    # {measurement_word} and {website_word} are the English singular or plural; a translation may leave them out.
    not_selected = _(", {count} not selected").format(count=gaps) if gaps else ""
    pruned = (_(" ({count} pruned before export)").format(count=m.counts.artifacts_pruned)
              if m.counts.artifacts_pruned else "")
    click.echo(_("wrote {path}: {count} {measurement_word} of {websites} {website_word} (seq {first}-{last}"
                 "{not_selected}), {artifacts} artifacts{pruned}").format(
        path=result.path, count=m.counts.measurements, measurement_word=_word(m.counts.measurements),
        websites=m.counts.targets, website_word="website" if m.counts.targets == 1 else "websites",
        first=m.chain.first_seq, last=m.chain.last_seq, not_selected=not_selected,
        artifacts=m.counts.artifacts_included, pruned=pruned))
    if m.counts.unsigned_verdicts:
        click.echo(_("{count} {measurement_word} exported without a verdict: theirs were made before verdicts were "
                     "signed (run `probe reclassify` to sign new ones)").format(
            count=m.counts.unsigned_verdicts, measurement_word=_word(m.counts.unsigned_verdicts)))
    if any(f.path == "third_party/ooni.jsonl" for f in m.files):
        click.echo(_("with OONI's imported measurements beside them (third_party/ooni.jsonl: OONI's, not signed "
                     "as ours)"))
    click.echo(_("signed by {fingerprint}").format(fingerprint=m.key_fingerprint))
    click.echo(_("check it with: probe verify {path}").format(path=result.path))


def _export_from_hub(hub_url: str, token: str | None, out: Path, force: bool, fmt: str, scrub_ips: tuple[str, ...],
                     languages: tuple[str, ...], filters: dict[str, str | None]) -> None:
    """The hub's bundle of many probes, as `probe hub export` writes it on the hub's host."""
    from probe.hub.export import ExportFilter
    from probe.hub.fetch import download_bundle

    if not token:
        raise InputError(_("--hub needs --token (a read token from the hub's operator)"),
                         hint=_("on the hub: {command}").format(
                             command='probe hub invite --read --name "KZ advocates"'))
    unsupported = [f"--{name}" for name in ("url", "category", "verdict") if filters.get(name)]
    unsupported += ["--format ooni"] * (fmt == "ooni") + ["--scrub-ip"] * bool(scrub_ips) + ["--lang"] * bool(languages)
    if unsupported:
        raise InputError(_("{options}: not available with --hub").format(options=", ".join(unsupported)),
                         hint=_("a hub selects by --host, --asn, --since and --until"))
    filt = make_filter(None, filters.get("host"), None, filters.get("since"), None, None, filters.get("asn"))
    until = filters.get("until")
    if until and not _DATE.match(until):
        raise InputError(_("{option} {value} is not a UTC date or time").format(option="--until", value=repr(until)),
                         hint=_("use e.g. 2026-11-01"))
    got = download_bundle(hub_url=hub_url, token=token, out=out, overwrite=force,
                          filt=ExportFilter(host=filt.host, asn=filt.asn, since=filt.since, until=until))
    click.echo(_("wrote {path} ({size} bytes) from {hub}").format(path=got.path, size=got.size, hub=hub_url))
    click.echo(_("check it with: probe verify {path}").format(path=got.path))


def _export_ooni(out: Path, store_path: Path, scrub_ips: tuple[str, ...], force: bool,
                 filters: dict[str, str | None]) -> None:
    from probe.evidence.ooni.jsonl import export_ooni_jsonl
    from probe.store import Store

    with Store.open(store_path, create=False) as store:
        count = export_ooni_jsonl(store, out, filt=make_filter(**filters), scrub_ips=scrub_ips, overwrite=force)
    click.echo(_("wrote {path}: {count} {measurement_word} in OONI's web_connectivity format (unsigned)").format(
        path=out, count=count, measurement_word=_word(count)))


@click.command("verify")
@click.argument("bundle", required=False, type=click.Path(path_type=Path))
@store_option(alone=True, help="Check the local store instead (alone: the default store; or --store PATH).")
@click.option("--fingerprint", "expected", help="Fail unless the bundle is signed by this key (ed25519:…).")
@key_option
@click.option("--quiet", "-q", is_flag=True, help="Print only failures and the verdict line.")
def verify_command(bundle: Path | None, store_path: Path | None, expected: str | None, key_path: Path | None,
                   quiet: bool) -> None:
    """Check a bundle (offline, from the bundle alone) or the local store: hashes, chain, signatures.

    Exit status 0: nothing failed (WARN lines say what could not be checked); 1: something failed
    (each failure names the file or the measurement). A bundle proves who made it only once its key's
    fingerprint matches the one the probe's operator published: pass it as --fingerprint.

    \b
    Example:
      probe verify kz-2026-11.zip
      probe verify kz-2026-11.zip --fingerprint ed25519:3d1d2c56…
      probe verify --store
    """
    if (bundle is None) == (store_path is None):
        raise InputError(_("give a bundle FILE.zip or --store, not both or neither"),
                         hint=_("probe verify FILE.zip   or   probe verify --store"))
    if bundle is not None:
        from probe.evidence.verify.bundle import verify_bundle
        from probe.hub.bundle_verify import is_hub_bundle

        if is_hub_bundle(bundle):
            _verify_hub(bundle, expected, quiet)
            return
        result = verify_bundle(bundle, expected_fingerprint=expected)
    else:
        assert store_path is not None
        result = _verify_store(store_path, key_path)
    _print_result(result, quiet=quiet)
    if result.ok:
        _print_key(result.key_fingerprint, bundle=bundle is not None, expected=expected)
    else:
        # SystemExit, not click's Exit: main() runs click with standalone_mode=False, which turns an
        # Exit into a return value it does not pass on.
        sys.exit(1)


def _verify_hub(bundle: Path, expected: str | None, quiet: bool) -> None:
    """A hub's bundle of many probes: each probe's links and signatures, named by its key."""
    from probe.hub.bundle_verify import verify_hub_bundle

    checked = verify_hub_bundle(bundle, expected_fingerprint=expected)
    _print_result(checked.result, quiet=quiet)
    if not checked.result.ok:
        sys.exit(1)
    keys = ", ".join(c.key_fingerprint for c in checked.probes)
    click.echo(_("KEYS NOT YET COMPARED: signed by {count} probe key(s): {keys}; the names are the hub's claim: "
                 "compare each fingerprint with the one its volunteer published").format(count=len(checked.probes),
                                                                                      keys=keys))


def _verify_store(store_path: Path, key_path: Path | None) -> Any:
    from probe.evidence.verify.store import verify_store_file

    if store_path.suffix == ".zip":
        raise InputError(_("{path} looks like a bundle").format(path=store_path), hint=f"probe verify {store_path}")
    return verify_store_file(store_path, public_key=_public_key(key_path))


def _public_key(key_path: Path | None) -> Any:
    """The probe's public key, or None when no key was made yet at the default place.

    A --key that names no file is an error (a typo must not silently skip signature checks).
    """
    from probe.evidence.keys import default_key_path, load_private_key, missing_key_error

    if key_path is not None and not key_path.exists():
        raise missing_key_error(key_path)
    path = key_path or default_key_path()
    return load_private_key(path).public_key() if path.exists() else None


def _print_result(result: Any, *, quiet: bool) -> None:
    failures = result.failures
    for finding in result.findings:
        if finding.level == "fail" or not quiet:
            click.echo(f"  {finding.level.upper():4}  {_printable(str(finding))}", err=finding.level == "fail")
    if not quiet and result.checked:
        # What was counted (measurements, links, report …) names the checks, as the result records them.
        counted = (_("{count} {what}").format(count=n, what=_(what)) for what, n in result.checked.items())
        click.echo("  " + _("checked: {counts}").format(counts=", ".join(counted)))
    subject = _printable(result.subject)
    # PASS, FAIL and WARN stay as they are in every language: scripts and people compare them.
    if failures:
        click.echo(_("FAIL {subject}: {count} problem(s) found").format(subject=subject, count=len(failures)))
        return
    unchecked = sum(1 for finding in result.findings if finding.level == "warn")
    if unchecked:
        # A warning is something that could not be checked (an unsigned link, a key not held here):
        # never claim that everything was.
        shown = _("see the WARN lines above") if not quiet else _("run without --quiet to see them")
        click.echo(_("PASS {subject}: nothing failed, but not everything could be checked ({count} {warning_word}: "
                     "{shown})").format(subject=subject, count=unchecked,
                                        warning_word="warning" if unchecked == 1 else "warnings", shown=shown))
    else:
        click.echo(_("PASS {subject}: every hash, link and signature checked out").format(subject=subject))


def _print_key(fp: str | None, *, bundle: bool, expected: str | None) -> None:
    """The one line that says whose key this is; for a bundle, that it proves nothing until compared."""
    if fp is None:
        return
    if not bundle:
        click.echo(_("checked with this probe's key {fingerprint}").format(fingerprint=fp))
    elif expected:
        click.echo(_("signed by {fingerprint}, the key you expected (--fingerprint)").format(fingerprint=fp))
    else:
        click.echo(_("KEY NOT YET COMPARED: signed by {fingerprint}; anyone can sign a bundle with a key of their own, "
                     "so this proves who made it only if that is the probe's published fingerprint (`probe key show` "
                     "on the probe, or the one its operator published): check it, or re-run with --fingerprint").format(
            fingerprint=fp))


def _printable(text: str) -> str:
    """Text from a bundle or a store, safe for a terminal: control characters (a forged line break, an
    escape sequence) and unpaired surrogates are shown escaped, never acted on."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@click.command("report")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="The HTML file to write.")
@store_option
@filter_options
@key_option
@store_read_errors
@click.option("--lang", "lang", type=click.Choice(LANGUAGES), default=None,
              help="Write the report in English (en), Russian (ru) or Kazakh (kk) (default: the language of "
                   "messages).")
def report_command(out: Path, store_path: Path, key_path: Path | None, lang: str | None,
                   **filters: str | None) -> None:
    """Write a self-contained HTML report for advocates: networks, timelines, techniques, evidence.

    \b
    Example:
      probe report --out report.html --since 2026-11-01
      probe report --out selftanu.html --host selftanu.kz
      probe report --out report.ru.html --lang ru
    """
    from datetime import UTC, datetime

    from probe.evidence.bundle.export import filters_used
    from probe.evidence.keys import fingerprint
    from probe.evidence.report.page import ReportMeta, render_report
    from probe.store import Store

    filt = make_filter(**filters)
    public = _public_key(key_path)
    fp = fingerprint(public) if public is not None else None
    meta = ReportMeta(generated_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), software_version=__version__,
                      key_fingerprint=fp, filters=tuple(filters_used(filt).items()))
    with Store.open(store_path, create=False) as store:
        count = 0

        def pairs() -> Any:
            nonlocal count
            for entry in store.entries(filt):
                count += 1
                yield entry.measurement(), entry.verdict

        language = lang or current_language()
        html = render_report(pairs(), meta, artifact_bytes=store.artifact, lang=language)
        html = _with_third_party(html, store_path, filt, lang=language)
    if not count:
        raise EvidenceError(_("nothing to report: no measurement matches the selection; nothing was written"))
    try:
        out.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise EvidenceError(_("cannot write {path}: {problem}").format(path=out, problem=exc.strerror)) from exc
    click.echo(_("wrote {path}: {count} measurements").format(path=out, count=count))


def _with_third_party(html: str, store_path: Path, filt: EntryFilter, *, lang: str) -> str:
    """OONI's imported measurements in their own section of the report, labelled as OONI's."""
    from probe.evidence.bundle.third_party import add_section, report_section, write_third_party

    section = report_section(write_third_party(None, store_path, filt), in_bundle=False, lang=lang)
    return add_section(html, section, lang=lang)


def _word(count: int) -> str:
    return "measurement" if count == 1 else "measurements"
