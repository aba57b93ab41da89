"""Offline verification of a bundle (`probe verify FILE.zip`) and of the local store (`--store`)."""
