"""The evidence bundle `probe export` writes: manifest, artifacts (WARC, PEM), statements, VERIFY.txt."""
