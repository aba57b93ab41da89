"""The table `probe run` prints: verdict with confidence, failing step and failure, the first reason."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from probe.cli.progress import ResultRow
from probe.cli.tables import REASON_CHARS, clip, print_run_table
from probe.measure.runner import RunSummary

MITM_REASON = ('The TLS handshake with SNI selftanu.kz to 198.18.1.2:443 returned a chain that does not validate '
               '(ssl_unknown_authority: validation failed), issued by "Qaznet Trust Network Intermediate CA" '
               '(root "Qaznet Trust Network").')
ROWS = [
    ResultRow(measurement_id="bc78d252aaaa", url="https://selftanu.kz/", verdict="tls.mitm", step="tls_handshake",
              failure="ssl_unknown_authority", confidence="confirmed", reason=MITM_REASON),
    ResultRow(measurement_id="786b528faaaa", url="https://www.gov.kz/", verdict="ok", step="", failure="",
              confidence="confirmed", reason="The page matches the control's."),
    ResultRow(measurement_id="1234abcdaaaa", url="http://[2001:db8::1]/", verdict="http.blockpage", step="",
              failure="", confidence="likely", reason="A blockpage [fingerprint kz.blockpage]."),
]


def _render(width: int) -> str:
    out = io.StringIO()
    summary = RunSummary(run_id="r", total=len(ROWS))
    print_run_table(summary, ROWS, 0, Path("results/probe.sqlite"),
                    console=Console(file=out, width=width, color_system=None))
    return out.getvalue()


def test_non_ok_rows_show_confidence_and_the_first_reason_clipped_in_100_columns() -> None:
    text = _render(100)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "(confirmed)" in text and "(likely)" in text
    assert "The TLS handshake" in text and "Qaznet" not in text
    assert "[fingerprint" in text and "http://[2001:db8::1]/" in text  # brackets are text, not markup
    assert "matches the control" not in text  # ok rows carry no reason
    assert "bc78d252" in text and "not shown at this width: failure" in text


def test_every_row_is_one_line_that_fits_80_columns_and_says_what_it_left_out() -> None:
    text = _render(80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert sum(1 for line in lines if line.startswith("│")) == len(ROWS)  # one line a row, no fragments
    assert "tls.mitm (confirmed)" in text and "bc78d252" in text and "https://selftanu.kz/" in text
    assert "--wide shows every column" in text


def test_wide_shows_every_column_in_full() -> None:
    out = io.StringIO()
    print_run_table(RunSummary(run_id="r", total=len(ROWS)), ROWS, 0, Path("results/probe.sqlite"),
                    console=Console(file=out, width=100, color_system=None), wide=True)
    text = out.getvalue()
    assert "tls_handshake: ssl_unknown_authority" in text.replace("\n", " ").replace("│", " ").replace("  ", " ") \
        or ("tls_handshake" in text and "ssl_unknown_authori" in text)
    assert "not shown at this width" not in text and "[fingerprint" in text


def test_clip_keeps_short_text_and_cuts_long_text_at_a_word() -> None:
    assert clip("short reason") == "short reason"
    cut = clip(MITM_REASON)
    assert len(cut) <= REASON_CHARS and cut.endswith("…") and MITM_REASON.startswith(cut[:-1])
    assert not cut[:-1].endswith(" ")
    assert clip("x" * 200, 10) == "x" * 9 + "…"


def test_rows_past_the_cap_are_counted_not_kept_and_the_table_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evidence_samples import START, sni_filtered

    from probe.cli import progress
    from probe.measure.runner import RunOutcome
    from probe.store import Store

    monkeypatch.setattr(progress, "MAX_ROWS", 3)
    display = progress.RunDisplay(total=5, enabled=False)
    with Store.open(tmp_path / "s.sqlite") as store:
        for i in range(5):
            m, a, v = sni_filtered(i, START)
            display.add(RunOutcome(entry=store.append(m, a, v), measurement=m, verdict=v))
    assert len(display.rows) == 3 and display.hidden_other == 2 and display.anomalous == 5
    out = io.StringIO()
    print_run_table(RunSummary(run_id="r", total=5), display.rows, display.hidden_ok, Path("p.sqlite"),
                    hidden_other=display.hidden_other, console=Console(file=out, width=100, color_system=None))
    assert "… and 2 more that are not ok (see `probe results --limit 0`)" in out.getvalue()
