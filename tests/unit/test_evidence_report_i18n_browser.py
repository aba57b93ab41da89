"""The Russian and Kazakh reports in headless Chromium: they render with no error and no request, show
Cyrillic and the Kazakh letters, and every letter is drawn by a font that has it (no missing glyphs).

Chromium says which platform fonts drew each element's text (DevTools CSS.getPlatformFontsForNode);
fontconfig (`fc-list :charset=…`) then says whether each of those fonts holds every letter of the page's
text, so a letter drawn as an empty box (.notdef) fails the test. Uses the DevTools client of
test_evidence_report_browser; skipped like it when Chromium is not installed (bootstrap --dev installs it,
with fonts-dejavu-core).
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest
from evidence_samples import sample_set
from test_evidence_report_browser import CHROMIUM, DevTools, _open, _problems

from probe.evidence.report.data import collect
from probe.evidence.report.page import ReportMeta, render

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs headless Chromium (apt-get install chromium)")
KAZAKH = "әғқңөұүһі"


def _covers(family: str, letters: str) -> bool:
    """Whether fontconfig knows a font of `family` holding every one of `letters`."""
    assert shutil.which("fc-list"), "fontconfig's fc-list is needed (it comes with Chromium)"
    charset = " ".join(f"{ord(c):x}" for c in sorted(set(letters)))
    found = subprocess.run(["fc-list", f"{family}:charset={charset}", "family"], capture_output=True, text=True,
                           timeout=30, check=True).stdout
    return bool(found.strip())


@pytest.mark.timeout(180)
@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_translated_report_renders_with_every_letter_drawn(tmp_path: Path, lang: str) -> None:
    meta = ReportMeta(generated_at="2026-11-27T10:00:00Z", software_version="0.1.0",
                      key_fingerprint="ed25519:" + "ab" * 32, filters=(("since", "2026-11-26"),), in_bundle=True)
    page = tmp_path / f"report.{lang}.html"
    html = render(collect((m, v) for m, _, v in sample_set(4)), meta, lang=lang)
    # The network name is data, shown as recorded: a Kazakh one carries the rare һ too.
    page.write_text(html.replace("</main>", "<p id=\"letters\">Шаһар желісі: " + KAZAKH + "</p></main>"),
                    encoding="utf-8")
    devtools = DevTools(tmp_path / "profile")
    try:
        session = _open(devtools, page.as_uri())
        devtools.call("DOM.enable", session)
        devtools.call("CSS.enable", session)
        root = devtools.call("DOM.getDocument", session, depth=-1)["root"]["nodeId"]
        fonts: dict[str, int] = {}
        for selector in ("h1", "h2", "p", "th", "td", "footer", "svg.bars text", ".legend span", "#letters"):
            for node in devtools.call("DOM.querySelectorAll", session, nodeId=root, selector=selector)["nodeIds"]:
                for font in devtools.call("CSS.getPlatformFontsForNode", session, nodeId=node)["fonts"]:
                    fonts[font["familyName"]] = fonts.get(font["familyName"], 0) + font["glyphCount"]
        body = devtools.call("Runtime.evaluate", session, returnByValue=True,
                             expression="document.body.innerText")["result"]["value"]
        shot = devtools.call("Page.captureScreenshot", session, format="png", captureBeyondViewport=True)
        devtools.call("Runtime.evaluate", session, expression="1")
    finally:
        devtools.close()
    requests, errors = _problems(devtools.events, page.as_uri())
    assert requests == [] and errors == []
    heading = {"ru": "Где и когда", "kk": "Қайда және қашан"}[lang]
    assert heading in body
    assert all(c in body for c in KAZAKH)
    letters = {c for c in body if c.isalpha() and not c.isascii()}
    assert len(letters) > 30, "the page should be mostly Cyrillic"
    assert fonts, "Chromium reported no fonts"
    # Every font Chromium drew text with holds every non-ASCII letter of the page: none is a missing glyph.
    missing = [family for family in fonts if not _covers(family, "".join(letters))]
    assert not missing, f"fonts without some of {''.join(sorted(letters))}: {missing} (install fonts-dejavu-core)"
    png = base64.b64decode(shot["data"])
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    (tmp_path / f"report.{lang}.png").write_bytes(png)
