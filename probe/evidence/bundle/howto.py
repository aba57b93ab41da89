"""VERIFY.txt: how anyone can check a bundle, with `probe verify` or by hand with common tools.

Every command below is exercised by a test against a real bundle (sha256sum, openssl 3), so the
text cannot drift from what the bundle really holds.
"""

from __future__ import annotations

import textwrap

from probe.evidence.bundle.manifest import (
    CHAIN_RECORDS,
    MANIFEST,
    MEASUREMENTS,
    PUBLIC_KEY,
    SHA256SUMS,
    SIGNATURE,
)
from probe.i18n import N_, _, using

# The text in sections (a heading and what follows): each is one message of the catalogs (probe/locale).
_SECTIONS: tuple[str, ...] = (
    N_("HOW TO CHECK THIS EVIDENCE BUNDLE\n"
       "=================================\n"),
    N_("What this is\n"
       "------------\n"
       "{count} internet-censorship measurements exported by probe {version} on {created} (UTC),\n"
       "seq {first} to {last} of the probe's hash chain{gaps}.\n"
       "{facts}\n"
       "This bundle's manifest was signed when it was exported, by the probe key with the fingerprint\n"
       "\n"
       "    {fingerprint}\n"
       "\n"
       "Compare that fingerprint with the one the probe's operator published. If they are equal and the\n"
       "checks below pass, nothing in this bundle was changed, added or removed since it was signed.\n"),
    N_("1. With the probe software (works offline)\n"
       "------------------------------------------\n"
       "    probe verify BUNDLE.zip --fingerprint {fingerprint}\n"
       "\n"
       "It checks every file's SHA-256, every measurement's and verdict's hash, chain link and signature,\n"
       "that every verdict stated here (verdicts.jsonl, the OONI file, the report) is a signed verdict\n"
       "record, and every artifact (certificates, DNS replies, web pages) against the signed records, and\n"
       "names exactly what fails (which file, which measurement). Exit status 0 means nothing "
       "failed; it also says when\n"
       "something could not be checked (a warning) and when the key was not compared with a fingerprint.\n"),
    N_("2. By hand, with unzip, sha256sum and OpenSSL 3\n"
       "-----------------------------------------------\n"
       "a) Unpack:\n"
       "    unzip BUNDLE.zip -d bundle && cd bundle\n"
       "\n"
       "b) The manifest is authentic (prints \"Signature Verified Successfully\"):\n"
       "    openssl pkeyutl -verify -pubin -inkey {public_key} -rawin -in {manifest} -sigfile {signature}\n"
       "\n"
       "c) The key is the published one (prints the hex after \"ed25519:\"):\n"
       "    openssl pkey -pubin -in {public_key} -outform DER | tail -c 32 | sha256sum\n"
       "\n"
       "d) Every file is unchanged ({sums} is the manifest's file list; check it is the signed one first):\n"
       "    sha256sum {sums}\n"
       "    grep -A1 '\"path\": \"{sums}\"' {manifest}      # the same hash must appear\n"
       "    sha256sum -c {sums}\n"
       "\n"
       "e) One measurement (line N of {measurements} is its record, byte for byte as hashed;\n"
       "   its \"record_sha256\", \"prev_hash\", \"chain_hash\" and \"signature\" are in {manifest}):\n"
       "    sed -n Np {measurements} | tr -d '\\n' | sha256sum          # = record_sha256\n"
       "    printf '%s%s' PREV_HASH RECORD_SHA256 | sha256sum           # = chain_hash\n"
       "    printf '%s' CHAIN_HASH > link.txt\n"
       "    printf '%s' SIGNATURE | xxd -r -p > link.sig\n"
       "    openssl pkeyutl -verify -pubin -inkey {public_key} -rawin -in link.txt -sigfile link.sig\n"
       "\n"
       "   A verdict is checked the same way: its record is a line of {records} and its link is in\n"
       "   {manifest} under \"links\" (kind \"verdict\"); the record names the measurement and that\n"
       "   measurement's record_sha256. A measurement's verdict is its verdict record with the highest seq\n"
       "   (a reclassification adds a new one and keeps the old).\n"
       "\n"
       "f) The chain: for consecutive seq numbers, a link's prev_hash is the chain_hash of the one before\n"
       "   it (measurements and the verdict, key and run records in \"links\" share one chain); the first\n"
       "   link ever (seq 1) has a prev_hash of 64 zeros. Seq numbers missing\n"
       "   from this bundle are listed in {manifest} under chain.gaps: they were not selected for this\n"
       "   export (see \"filters\"), and the links on either side of a gap can still each be checked alone.\n"),
    N_("What the files are\n"
       "------------------\n"
       "{manifest}                 the signed list of everything here\n"
       "{signature}                  its Ed25519 signature (raw 64 bytes)\n"
       "{public_key}               the probe's public key\n"
       "{measurements}           the measurements (our canonical JSON, one per line)\n"
       "verdicts.jsonl               what the probe concluded for each: its latest signed verdict record\n"
       "{records}          the signed verdict records (and key and run records), one per line\n"
       "ooni/web_connectivity.jsonl  the same measurements in OONI's data format (loads in OONI's tools)\n"
       "third_party/ooni.jsonl       if present: OONI's own measurements, as OONI published them (not this probe's)\n"
       "artifacts/certs/*.pem        TLS certificate chains as received (openssl x509 -in FILE -text)\n"
       "artifacts/dns/*.bin          DNS replies as received on the wire (named by their SHA-256)\n"
       "artifacts/http/*.warc        web requests and responses (WARC; bodies as decoded by the probe)\n"
       "report.html                  a readable summary (open in any browser; it loads nothing)\n"),
)
_TEMPLATE = "\n".join(_SECTIONS)


def verify_text(*, count: int, version: str, created: str, first: int, last: int, gaps: int,
                fingerprint: str, facts: list[str], lang: str = "en") -> str:
    """`facts`: what the bundle holds, in sentences computed from it (probe.evidence.bundle.statements; English in
    every language for now). `lang` (en, ru, kk): commands, file names and fingerprints are the same in each."""
    with using(lang):
        template = "\n".join(_(section) for section in _SECTIONS)
        gap_text = _(", with {gaps} link(s) in between not selected").format(gaps=gaps) if gaps else ""
    return template.format(facts=_wrap(" ".join(facts)), count=count, version=version, created=created,
                            first=first, last=last,
                            gaps=gap_text, fingerprint=fingerprint, public_key=PUBLIC_KEY, manifest=MANIFEST,
                            signature=SIGNATURE, sums=SHA256SUMS, measurements=MEASUREMENTS,
                            records=CHAIN_RECORDS)


def _wrap(text: str, width: int = 100) -> str:
    return "\n".join(textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False))
