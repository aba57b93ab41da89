"""Fitting tables to the terminal (probe.cli.fit): pure rules, checked on plain strings."""

from __future__ import annotations

from probe.cli.fit import Column, fit, shorten_end, shorten_middle

URL = "https://www.hrw.org/news/2024/02/12/kazakhstan-lgbt-education-site-blocked-by-ministry-letter"


def test_a_url_shortened_in_the_middle_keeps_its_host_and_its_last_segment() -> None:
    short = shorten_middle(URL, 40)
    assert len(short) == 40 and short.startswith("https://www.hrw.org/") and short.endswith("ministry-letter")
    assert "…" in short
    assert shorten_middle("https://a.kz/", 40) == "https://a.kz/"
    assert shorten_middle(URL, 1) == "…" and shorten_middle(URL, 0) == ""


def test_prose_is_cut_at_a_word() -> None:
    assert shorten_end("The page matches the control's page", 20) == "The page matches…"
    assert shorten_end("x" * 30, 10) == "x" * 9 + "…"


COLUMNS = [Column("verdict", 0, 8), Column("URL", 1, 16, "middle", want=30), Column("id", 2, 8),
           Column("reason", 3, 20, "end", want=28), Column("failure", 4, 16, "end", want=24)]
ROW = ("tls.mitm (confirmed)", URL, "bc78d252", "The TLS handshake returned a chain that does not validate",
       "tls_handshake: ssl_unknown_authority")


def _line_width(widths: list[int]) -> int:
    return sum(widths) + 3 * len(widths) + 1


def test_everything_fits_when_there_is_room() -> None:
    shown, widths = fit(COLUMNS, [ROW], 400)
    assert shown == [0, 1, 2, 3, 4] and widths == [len(c) for c in ROW]


def test_shrinkable_columns_give_way_before_a_column_is_dropped() -> None:
    shown, widths = fit(COLUMNS, [ROW], 150)
    assert shown == [0, 1, 2, 3, 4] and _line_width(widths) <= 150
    assert widths[0] == len(ROW[0]) and widths[2] == 8  # labels and ids are never cut
    assert widths[1] > 30  # the room left goes to the most important shrinkable column first


def test_a_narrow_terminal_keeps_verdict_url_and_id() -> None:
    shown, widths = fit(COLUMNS, [ROW], 80)
    assert shown[:3] == [0, 1, 2] and _line_width(widths) <= 80 and widths[1] >= 30


def test_the_least_important_columns_go_first_and_the_line_always_fits() -> None:
    for width in range(40, 200):
        shown, widths = fit(COLUMNS, [ROW], width)
        assert shown == sorted(shown) and 0 in shown
        assert _line_width(widths) <= width or len(shown) == 1
        kept = set(shown)
        # a column is only ever shown when every more important one is too
        assert all(j in kept for i in kept for j in range(5) if COLUMNS[j].importance < COLUMNS[i].importance)
