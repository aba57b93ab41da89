"""VERIFY.txt: how anyone can check a bundle, with `probe verify` or by hand with common tools.

Every command below is exercised by a test against a real bundle (sha256sum, openssl 3), so the
text cannot drift from what the bundle really holds.
"""

from __future__ import annotations

from probe.evidence.manifest import (
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
Every measurement was signed when it was taken, and this bundle's manifest was signed when it was
exported, by the probe key with the fingerprint

    {fingerprint}

Compare that fingerprint with the one the probe's operator published. If they are equal and the
checks below pass, nothing in this bundle was changed, added or removed since it was signed.

1. With the probe software (works offline)
------------------------------------------
    probe verify BUNDLE.zip --fingerprint {fingerprint}

It checks every file's SHA-256, every measurement's hash, chain link and signature, and every
artifact (certificates, DNS replies, web pages) against the signed records, and names exactly
what fails (which file, which measurement). Exit status 0 means nothing failed; it also says when
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

f) The chain: for consecutive seq numbers, a measurement's prev_hash is the chain_hash of the one
   before it; the first measurement ever (seq 1) has a prev_hash of 64 zeros. Seq numbers missing
   from this bundle are listed in {manifest} under chain.gaps: they were not selected for this
   export (see "filters"), and the links on either side of a gap can still each be checked alone.

What the files are
------------------
{manifest}                 the signed list of everything here
{signature}                  its Ed25519 signature (raw 64 bytes)
{public_key}               the probe's public key
{measurements}           the measurements (our canonical JSON, one per line)
verdicts.jsonl               what the probe concluded for each (re-computable; not part of the chain)
ooni/web_connectivity.jsonl  the same measurements in OONI's data format (loads in OONI's tools)
third_party/ooni.jsonl       if present: OONI's own measurements, as OONI published them (not this probe's)
artifacts/certs/*.pem        TLS certificate chains as received (openssl x509 -in FILE -text)
artifacts/dns/*.bin          DNS replies as received on the wire (named by their SHA-256)
artifacts/http/*.warc        web requests and responses (WARC; bodies as decoded by the probe)
report.html                  a readable summary (open in any browser; it loads nothing)
"""


def verify_text(*, count: int, version: str, created: str, first: int, last: int, gaps: int,
                fingerprint: str) -> str:
    gap_text = f", with {gaps} measurement(s) in between not selected" if gaps else ""
    return _TEMPLATE.format(count=count, version=version, created=created, first=first, last=last,
                            gaps=gap_text, fingerprint=fingerprint, public_key=PUBLIC_KEY, manifest=MANIFEST,
                            signature=SIGNATURE, sums=SHA256SUMS, measurements=MEASUREMENTS)
