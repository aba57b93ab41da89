"""`probe lab …`: build, inspect and tear down the censorship lab; run scenarios; the demo.

Thin: the work is in `probe.lab`; this module parses flags and prints. Needs root (one-line error
otherwise). The namespace prefix comes from --prefix or $PROBE_LAB_PREFIX (default "plab"), so two
labs can run side by side.
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from probe.cli.options import store_option

if TYPE_CHECKING:
    from probe.lab.runner import ScenarioResult

# The lab (namespaces, servers, scenarios, pydantic, the store) is imported when a command runs, not
# when the CLI is built: `probe lab --help` and `probe lab COMMAND --help` read only the options below.

DEMO_HOSTS = ("selftanu.kz", "who.int", "www.gov.kz")  # what a bare `lab up` serves, uncensored
_prefix_option = click.option("--prefix", envvar="PROBE_LAB_PREFIX", default="plab", show_default=True,
                              help="Namespace name prefix (also $PROBE_LAB_PREFIX).")


@click.group("lab")
def lab_group() -> None:
    """The censorship lab: a censoring ISP, its resolver and real servers in network namespaces (root).

    \b
    Example:
      sudo probe lab run                 # every shipped scenario, expected vs got
      sudo probe lab demo                # Selftanu.kz and who.int under Kazakh techniques
    """


@lab_group.command("up")
@click.argument("scenario", required=False, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@_prefix_option
def up_command(scenario: Path | None, prefix: str) -> None:
    """Build the lab (optionally for one scenario file) and leave it running.

    \b
    Example:
      sudo probe lab up tests/lab/scenarios/tls_sni_drop.toml
      sudo ip netns exec plab-client probe run https://selftanu.kz/ ...   # flags: see output
      sudo probe lab down
    """
    from probe.lab.lab import Lab
    from probe.lab.scenario import load_scenario

    lab = Lab(prefix=prefix)
    loaded = load_scenario(scenario) if scenario else None
    lab.up(loaded, bulk_hosts=() if loaded else DEMO_HOSTS)
    click.echo(f"lab {prefix!r} is up" + (f" for scenario {loaded.name!r}" if loaded else "") + ".")
    click.echo(f"client namespace: {lab.names.client}   lab CA: {lab.ca_path}")
    click.echo("measure from inside it with:")
    click.echo(f"  ip netns exec {lab.names.client} probe run {' '.join(lab.probe_args())} URL")


@lab_group.command("down")
@_prefix_option
def down_command(prefix: str) -> None:
    """Remove the lab: namespaces, links, rules, servers, /etc/netns dirs and state (also after a crash).

    \b
    Example:
      sudo probe lab down
      sudo PROBE_LAB_PREFIX=mylab probe lab down
    """
    from probe.lab.lab import Lab

    Lab(prefix=prefix).down()
    for i in range(9):  # the extra labs of `probe lab run --parallel`
        worker = Lab(prefix=f"{prefix[:9]}{i}")
        if worker.status().up or worker.state.exists():
            worker.down()
    click.echo(f"lab {prefix!r} is down.")


@lab_group.command("status")
@_prefix_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def status_command(prefix: str, as_json: bool) -> None:
    """Show whether the lab is up: namespaces, processes in each, the scenario loaded.

    \b
    Example:
      sudo probe lab status --json
    """
    from probe.lab.lab import Lab

    st = Lab(prefix=prefix).status()
    if as_json:
        click.echo(json.dumps({"prefix": st.prefix, "up": st.up, "namespaces": st.namespaces,
                               "processes": st.processes, "scenario": st.scenario}))
        return
    if not st.up:
        click.echo(f"lab {prefix!r} is down.")
        return
    click.echo(f"lab {prefix!r} is up; scenario: {st.scenario or '(none)'}")
    for ns in st.namespaces:
        click.echo(f"  {ns:<20} {st.processes.get(ns, 0)} processes")


@lab_group.command("run")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
@_prefix_option
@store_option(default="none", help="Keep the measurements in this store (default: a temporary one).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per scenario.")
@click.option("--parallel", type=click.IntRange(1, 9), default=1, show_default=True,
              help="Labs working at once (prefix + digit each).")
def run_command(paths: tuple[Path, ...], prefix: str, store_path: Path | None, as_json: bool,
                parallel: int) -> None:
    """Run scenario files or folders (default: the shipped set), each in a clean lab; exit 0 only if all match.

    \b
    Example:
      sudo probe lab run --parallel 3
      sudo probe lab run tests/lab/scenarios/tls_mitm_qaznet.toml --json
    """
    from probe.lab.lab import Lab
    from probe.lab.runner import run_all
    from probe.lab.scenario import default_scenario_dir, load_scenarios

    scenarios = load_scenarios(list(paths) or [default_scenario_dir()])
    lab = Lab(prefix=prefix)
    with tempfile.TemporaryDirectory(prefix="probe-lab-") as tmp:
        store = store_path or Path(tmp) / "lab.sqlite"
        if not as_json:
            click.echo(f"{'scenario':<40} {'expected':<15} {'got':<15}    s")
        results = run_all(scenarios, lab=lab, store=store, parallel=parallel,
                          on_result=lambda r: click.echo(_line(r, as_json)))
    if not as_json:
        _print_summary(results)
    raise SystemExit(0 if all(r.ok for r in results) else 1)


def _line(r: ScenarioResult, as_json: bool) -> str:
    if as_json:
        return json.dumps(r.to_json(), ensure_ascii=False)
    mark = "✓" if r.ok else "✗"
    got = r.got or "(error)"
    line = f"{r.name:<40} {r.expected:<15} {got:<15} {mark} {r.duration_s:5.1f}"
    if r.got == r.expected and not r.ok:
        line += f"  (blocking: expected {r.expected_blocking!r}, got {r.got_blocking!r})"
    if r.error:
        line += f"\n    error: {r.error}"
    return line


def _print_summary(results: list[ScenarioResult]) -> None:
    from probe.lab.runner import summarise

    s = summarise(results)
    click.echo(f"\n{s.passed}/{s.total} scenarios match.")
    if s.confusion:
        click.echo("confusion (expected → got):")
        for expected, got, n in s.confusion:
            click.echo(f"  {expected:<15} → {got:<15} ×{n}")
    click.echo(f"false positives (censorship claimed where there is none): {len(s.false_positives)}"
               + (f" {', '.join(s.false_positives)}" if s.false_positives else ""))
    click.echo(f"false negatives (censorship missed): {len(s.false_negatives)}"
               + (f" {', '.join(s.false_negatives)}" if s.false_negatives else ""))
    if s.errors:
        click.echo(f"no verdict at all: {len(s.errors)} {', '.join(s.errors)}")


@lab_group.command("demo")
@_prefix_option
@store_option(default="none", help="The SQLite evidence store (default: results/probe.sqlite; never the daemon's, "
                                   "which keeps real measurements only).")
@click.option("--key", "key_path", type=click.Path(path_type=Path), default=None,
              help="Signing key (default: this probe's, from `probe init`; made now if there is none).")
@click.option("--hub", "with_hub", is_flag=True,
              help="Instead: two probes on two ISPs upload to a hub in the lab; one bundle of both, verified.")
def demo_command(prefix: str, store_path: Path | None, key_path: Path | None, with_hub: bool) -> None:
    """Build the lab and measure Selftanu.kz and who.int under the main Kazakh techniques; keep the results.

    Techniques: SNI drop, TLS interception with a rogue root, throttling, DNS lies, an injected
    blockpage, and an unblocked site for comparison. The measurements are signed with this probe's
    key (one is made, as `probe init` would, if there is none), so the demo ends with an export and a
    verify command that work as printed. Exits 1 unless every verdict names what the lab's censor did.

    With --hub, instead: two probes on two ISPs join a hub in the lab, upload, and one bundle of both
    is exported and verified (the bundle stays in the current folder; --store and --key are not used).

    \b
    Example:
      sudo probe lab demo
      probe results               # the demo's measurements are in the store
      sudo probe lab demo --hub
    """
    from probe.evidence.keys import default_key_path
    from probe.lab import demo as lab_demo
    from probe.lab.lab import Lab
    from probe.store import DEFAULT_STORE

    if with_hub:
        _hub_demo(prefix)
    store_path = store_path or DEFAULT_STORE

    key_path = (key_path or default_key_path()).expanduser()
    key_fingerprint = _demo_key(key_path)
    started = datetime.now(UTC).replace(microsecond=0)
    matched = lab_demo.run_demo(Lab(prefix=prefix), store=store_path, echo=click.echo, key=key_path)
    program = _this_program()
    bundle = f"demo-evidence-{started:%Y%m%d-%H%M%S}.zip"
    click.echo("\nNext, export this demo's evidence of Selftanu.kz as a bundle, and check it offline:")
    click.echo(f"  {program} export --store {store_path} --key {key_path} --out {bundle} "
               f"--host selftanu.kz --since {started:%Y-%m-%dT%H:%M:%SZ}")
    click.echo(f"  {program} verify {bundle} --fingerprint {key_fingerprint}")
    raise SystemExit(0 if matched == len(lab_demo.demo_scenarios()) else 1)  # run_demo printed the summary


def _hub_demo(prefix: str) -> None:
    """`probe lab demo --hub`: the bundle stays in the current folder; exit 1 unless all is as expected."""
    from probe.lab.hubdemo import VERIFY_ARGS, run_hub_demo
    from probe.lab.lab import Lab

    started = datetime.now(UTC).replace(microsecond=0)
    bundle = Path(f"hub-demo-evidence-{started:%Y%m%d-%H%M%S}.zip").resolve()
    result = run_hub_demo(Lab(prefix=prefix), bundle=bundle, echo=click.echo)
    program = _this_program()
    click.echo("\nTo reproduce: the whole demo, then the advocate's offline check of the bundle:")
    click.echo(f"  sudo {program} lab demo --hub")
    if bundle.exists():
        click.echo(f"  {program} {' '.join(VERIFY_ARGS)} {bundle}")
    raise SystemExit(0 if result.ok else 1)


def _demo_key(path: Path) -> str:
    """This probe's key fingerprint; the key is made first, after saying so, when there is none: evidence
    nobody signed cannot be exported, and a newcomer's first bundle should verify."""
    from probe.evidence.keys import fingerprint, generate_key, load_private_key

    if path.exists():
        key = load_private_key(path)
        click.echo(f"Signing the demo's measurements with this probe's key {path}.")
    else:
        click.echo(f"This probe has no signing key yet, and unsigned evidence cannot be exported: making one "
                   f"at {path}, as `probe init` would (readable only by you; never share it). Before measuring "
                   "outside the lab, run `probe init` to read what running a probe may reveal about you.")
        key = generate_key(path)
    fp = fingerprint(key.public_key())
    click.echo(f"Key fingerprint: {fp}")
    return fp


def _this_program() -> str:
    """How the user started this program, so the commands we print work when pasted back."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == "probe":
        return str(argv0)
    return f"{sys.executable} -m probe"
