"""The shipped Citizen Lab category legend and loading another one."""

from __future__ import annotations

from pathlib import Path

import pytest

from probe.errors import InputError
from probe.targets.legend import default_legend, load_legend, parse_legend


def test_shipped_legend_has_the_31_current_codes_and_old_code_map() -> None:
    legend = default_legend()
    assert len(legend.codes()) == 31
    assert legend.description("LGBT") == "LGBT"
    assert legend.description("PUBH") == "Public Health"
    assert legend.legacy["GAYL"] == "LGBT"
    assert legend.legacy["HAL"] == "CULTR"  # upstream writes "HAL " with a trailing space
    assert legend.legacy["FEXP"] == "NEWS"
    assert "N/A" not in legend.legacy


def test_other_legend_files(tmp_path: Path) -> None:
    path = tmp_path / "legend.csv"
    path.write_text("Category Description,New Code,Replaces old code(s),Description\n"
                    "Science,SCI,,Research and education\n", encoding="utf-8")
    assert load_legend(path).codes() == ["SCI"]
    with pytest.raises(InputError, match="not a Citizen Lab category legend"):
        parse_legend("code,name\nA,b\n")
    with pytest.raises(InputError, match="cannot read category legend"):
        load_legend(tmp_path / "missing.csv")
