"""Target lists: load, validate, lint and edit Citizen Lab-format lists (and plain URL lists).

Public API (what `probe run` and the `probe lists` commands use):

    resolve_list(name_or_path) -> Path          "kz", "article15" or a path -> the list file
    load_targets(path, categories=None, on_error=None) -> [Target]
                                                bounded read; InputError names file:line; with
                                                on_error, rows with bad URLs are reported and skipped
    parse_categories("LGBT,HUMR") -> {"LGBT", "HUMR"}  checked against the category legend
    normalise_url(url) -> str                   the normal form; InputError on unusable URLs
    parse_url_arg(url) -> Target                a target for a URL given on the command line

Modules: urls (normal form), legend (category codes), reader (bounded line reading), parse (rows),
validate (problems), lint (fixes), render (writing), edit (add/remove), importer (Citizen Lab
import), registry (shipped list names), loader (targets for measuring), problems (the Problem type).
Nothing here touches the network.
"""

from __future__ import annotations

from probe.targets.legend import default_legend, parse_categories
from probe.targets.loader import load_targets, parse_url_arg
from probe.targets.registry import resolve_list, shipped_lists
from probe.targets.urls import normalise_url

__all__ = [
    "default_legend",
    "load_targets",
    "normalise_url",
    "parse_categories",
    "parse_url_arg",
    "resolve_list",
    "shipped_lists",
]
