"""VERIFY.txt: how anyone can check a bundle, with `probe verify` or by hand with common tools.

Every command below is exercised by a test against a real bundle (sha256sum, openssl 3), so the
text cannot drift from what the bundle really holds.
"""

from __future__ import annotations

import textwrap

from probe.evidence.manifest import (
    CHAIN_RECORDS,
    MANIFEST,
    MEASUREMENTS,
    PUBLIC_KEY,
    SHA256SUMS,
    SIGNATURE,
)

_TEMPLATE = """\
HOW TO CHECK THIS EVIDENCE BUNDLE
=================================

What this is
------------
{count} internet-censorship measurements exported by probe {version} on {created} (UTC),
seq {first} to {last} of the probe's hash chain{gaps}.
{facts}
This bundle's manifest was signed when it was exported, by the probe key with the fingerprint

    {fingerprint}

Compare that fingerprint with the one the probe's operator published. If they are equal and the
checks below pass, nothing in this bundle was changed, added or removed since it was signed.

1. With the probe software (works offline)
------------------------------------------
    probe verify BUNDLE.zip --fingerprint {fingerprint}

It checks every file's SHA-256, every measurement's and verdict's hash, chain link and signature,
that every verdict stated here (verdicts.jsonl, the OONI file, the report) is a signed verdict
record, and every artifact (certificates, DNS replies, web pages) against the signed records, and
names exactly what fails (which file, which measurement). Exit status 0 means nothing failed; it also says when
something could not be checked (a warning) and when the key was not compared with a fingerprint.

2. By hand, with unzip, sha256sum and OpenSSL 3
-----------------------------------------------
a) Unpack:
    unzip BUNDLE.zip -d bundle && cd bundle

b) The manifest is authentic (prints "Signature Verified Successfully"):
    openssl pkeyutl -verify -pubin -inkey {public_key} -rawin -in {manifest} -sigfile {signature}

c) The key is the published one (prints the hex after "ed25519:"):
    openssl pkey -pubin -in {public_key} -outform DER | tail -c 32 | sha256sum

d) Every file is unchanged ({sums} is the manifest's file list; check it is the signed one first):
    sha256sum {sums}
    grep -A1 '"path": "{sums}"' {manifest}      # the same hash must appear
    sha256sum -c {sums}

e) One measurement (line N of {measurements} is its record, byte for byte as hashed;
   its "record_sha256", "prev_hash", "chain_hash" and "signature" are in {manifest}):
    sed -n Np {measurements} | tr -d '\\n' | sha256sum          # = record_sha256
    printf '%s%s' PREV_HASH RECORD_SHA256 | sha256sum           # = chain_hash
    printf '%s' CHAIN_HASH > link.txt
    printf '%s' SIGNATURE | xxd -r -p > link.sig
    openssl pkeyutl -verify -pubin -inkey {public_key} -rawin -in link.txt -sigfile link.sig

   A verdict is checked the same way: its record is a line of {records} and its link is in
   {manifest} under "links" (kind "verdict"); the record names the measurement and that
   measurement's record_sha256. A measurement's verdict is its verdict record with the highest seq
   (a reclassification adds a new one and keeps the old).

f) The chain: for consecutive seq numbers, a link's prev_hash is the chain_hash of the one before
   it (measurements and the verdict, key and run records in "links" share one chain); the first
   link ever (seq 1) has a prev_hash of 64 zeros. Seq numbers missing
   from this bundle are listed in {manifest} under chain.gaps: they were not selected for this
   export (see "filters"), and the links on either side of a gap can still each be checked alone.

What the files are
------------------
{manifest}                 the signed list of everything here
{signature}                  its Ed25519 signature (raw 64 bytes)
{public_key}               the probe's public key
{measurements}           the measurements (our canonical JSON, one per line)
verdicts.jsonl               what the probe concluded for each: its latest signed verdict record
{records}          the signed verdict records (and key and run records), one per line
ooni/web_connectivity.jsonl  the same measurements in OONI's data format (loads in OONI's tools)
third_party/ooni.jsonl       if present: OONI's own measurements, as OONI published them (not this probe's)
artifacts/certs/*.pem        TLS certificate chains as received (openssl x509 -in FILE -text)
artifacts/dns/*.bin          DNS replies as received on the wire (named by their SHA-256)
artifacts/http/*.warc        web requests and responses (WARC; bodies as decoded by the probe)
report.html                  a readable summary (open in any browser; it loads nothing)
"""


def verify_text(*, count: int, version: str, created: str, first: int, last: int, gaps: int,
                fingerprint: str, facts: list[str]) -> str:
    """`facts`: what the bundle holds, in sentences computed from it (probe.evidence.statements)."""
    gap_text = f", with {gaps} link(s) in between not selected" if gaps else ""
    return _TEMPLATE.format(facts=_wrap(" ".join(facts)), count=count, version=version, created=created,
                            first=first, last=last,
                            gaps=gap_text, fingerprint=fingerprint, public_key=PUBLIC_KEY, manifest=MANIFEST,
                            signature=SIGNATURE, sums=SHA256SUMS, measurements=MEASUREMENTS,
                            records=CHAIN_RECORDS)


def _wrap(text: str, width: int = 100) -> str:
    return "\n".join(textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False))
