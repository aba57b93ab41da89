"""`probe import ooni PATH...`: OONI's published measurements into the store, as third-party evidence.

Thin: reads the paths' files with `probe.ooni.importer`, prints a summary and each bad line as
file:line. Exit 0 when everything read was imported (or already stored), 1 when some line could not
be read (the rest is imported all the same), ProbeError for a file that cannot be opened.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from probe.cli.options import store_option
from probe.errors import InputError
from probe.i18n import _


@click.group("import")
def import_group() -> None:
    """Bring measurements made by others into the store (kept apart from ours, never signed as ours)."""


@import_group.command("ooni")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@store_option
def import_ooni_command(paths: tuple[Path, ...], store_path: Path) -> None:
    """Import OONI web_connectivity measurements (.json, .jsonl, gzip) and classify them by our rules.

    Reads what OONI's API and public archive publish (web_connectivity 0.4 and 0.5; older versions
    where they can be read). Each is stored as third-party evidence with its measurement_uid,
    report_id, probe network and OONI Explorer link, and OONI's own blocking/accessible beside our
    verdict. Other tests are skipped and counted; a bad line is named (file:line) and the rest
    imported (exit status 1 then); importing a file again adds nothing. See them with
    `probe results --source ooni`.

    \b
    Example:
      probe import ooni 2024-01-01_KZ_webconnectivity.jsonl.gz
      probe import ooni raw_20230405191409.791143_VE_webconnectivity_674b6150abb098e2.json
    """
    from probe.classify import build_context, load_fingerprints
    from probe.ooni.importer import import_ooni
    from probe.store.third_party import ThirdPartyStore

    for path in paths:
        if not path.is_file():
            raise InputError(_("{path}: no such file").format(path=path),
                             hint=_("give OONI .json, .jsonl or .gz files"))
    context = build_context(fingerprints=load_fingerprints(None))
    with ThirdPartyStore.open(store_path) as store:
        try:
            summary = import_ooni(paths, store=store, context=context, on_problem=_skipped)
        except OSError as exc:
            raise InputError(_("cannot read {path}: {problem}").format(path=exc.filename or _("a file"),
                                                                          problem=exc.strerror or exc)) from exc
    click.echo(_("read {count} measurements from {files} file(s): {imported} imported, {duplicates} already "
                 "stored").format(count=summary.read, files=len(paths), imported=summary.imported,
                                  duplicates=summary.duplicates))
    if summary.skipped_tests:
        other = ", ".join(f"{n} {name}" for name, n in summary.skipped_tests.most_common())
        click.echo(_("skipped other tests: {tests}").format(tests=other))
    if summary.labels:
        click.echo(_("our verdicts: ") + ", ".join(f"{label} {n}" for label, n in summary.labels.most_common()))
    if summary.problems:
        click.echo(_("{count} line(s) could not be read (listed above); the rest was imported").format(
            count=len(summary.problems)), err=True)
        sys.exit(1)


def _skipped(problem: str) -> None:
    click.echo(_("skipped {problem}").format(problem=problem), err=True)
