"""The origin web servers, rendered as files: nginx configuration, static pages and certificates.

One nginx in the inet namespace serves every site on every address of the sites' range (SNI and
Host virtual hosting). Each site has a server block of its own naming its certificate file, so nginx
parses every certificate once, at start: a certificate path with a variable in it
(`certs/$ssl_server_name.pem`, which the default server keeps for names the plan does not know) is
read and parsed again on every handshake, 1.7 ms of nginx's CPU against 0.7, and in a benchmark of
thousands of URLs the lab's servers share the probe's cores. The price is paid at start and in
memory: with 2,000 sites nginx starts in about 3 s, and its two processes hold ~160 MB (mostly
shared). Sites with behaviour nginx cannot produce (a status or redirect, a delay, CAPTCHA/geoblock
by source network, echo of the client address) get a server block that proxies to the lab's own
origin app (`origin_app.py`) with the client's address in X-Real-IP. "Other hosting" addresses
(origin_other) are a different server with its own name. This module writes files; it starts nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from probe.lab import addressing as A
from probe.lab import pki
from probe.lab.sites import CONTROL_HOST, Site, SitePlan

ORIGIN_APP_PORT = 8090
OTHER_HOSTING_NAME = "parked.lab-hosting.net"
_FILLER = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. "


def page(title: str, body_bytes: int, *, extra: str = "") -> bytes:
    """An HTML page with `title`, padded to `body_bytes` (deterministic, so bodies compare)."""
    head = f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n"
    text = f"<body><h1>{title}</h1>{extra}<p>"
    tail = "</p></body></html>\n"
    size = max(body_bytes - len((head + text + tail).encode()), 0)
    filler = (_FILLER * (size // len(_FILLER) + 1))[:size]
    return (head + text + filler + tail).encode()


def write_site_files(state: Path, plan: SitePlan, *, ca: pki.Issuer, bulk_key: pki.Key) -> None:
    """Certificates (chain + key in one PEM per host) and static pages for every site."""
    certs, www = state / "certs", state / "www"
    certs.mkdir(parents=True, exist_ok=True)
    www.mkdir(parents=True, exist_ok=True)
    key_pem = pki.key_pem(bulk_key)
    for site in plan.sites.values():
        if site.origin.cert == "valid":  # the common case: no second key, no extra serialisation
            leaf = pki.make_leaf([site.host], issuer=ca, key=bulk_key)
            data = pki.chain_pem(leaf) + key_pem
        else:
            data = pki.site_pem(site.host, site.origin.cert, ca=ca, key=bulk_key)
        (certs / f"{site.host}.pem").write_bytes(data)
        (www / f"{site.host}.html").write_bytes(page(site.origin.title or site.host,
                                                     site.origin.body_bytes))
    other = pki.make_leaf([OTHER_HOSTING_NAME], issuer=ca, key=bulk_key)
    (certs / "_other.pem").write_bytes(pki.chain_pem(other) + key_pem)
    (www / "_other.html").write_bytes(page("Domain parked", 1200))
    (certs / "_control.pem").write_bytes(
        pki.chain_pem(pki.make_leaf([CONTROL_HOST, A.CONTROL_V4, A.CONTROL_V6], issuer=ca, key=bulk_key))
        + key_pem)


def origin_app_config(plan: SitePlan) -> str:
    """What the origin app needs per special site (JSON, read by `origin_app.py`)."""
    sites = {s.host: s.origin.model_dump(mode="json") for s in plan.special}
    return json.dumps({"port": ORIGIN_APP_PORT, "sites": sites}, indent=1)


def nginx_conf(state: Path, plan: SitePlan, *, workers: int = 1) -> str:
    special = plan.special
    names = {s.host for s in special}
    blocks = "\n".join([_special_block(state, s) for s in special]
                       + [_static_block(state, s) for s in plan.sites.values() if s.host not in names])
    # Room for every server name: nginx refuses to start when its names' hash does not fit.
    longest = max((len(h) for h in plan.sites), default=0)
    bucket = max(64, 1 << (longest + 32).bit_length())
    return f"""worker_processes {workers};
daemon off;
pid {state}/nginx/nginx.pid;
error_log {state}/log/nginx.log warn;
user root root;
events {{ worker_connections 8192; multi_accept on; }}
http {{
    access_log off;
    server_tokens off;
    default_type text/html;
    charset utf-8;
    keepalive_requests 1000;
    server_names_hash_max_size {max(512, 2 * len(plan.sites))};
    server_names_hash_bucket_size {bucket};
    client_body_temp_path {state}/nginx/tmp;
    proxy_temp_path {state}/nginx/tmp;
    fastcgi_temp_path {state}/nginx/tmp;
    uwsgi_temp_path {state}/nginx/tmp;
    scgi_temp_path {state}/nginx/tmp;
    ssl_protocols TLSv1.2 TLSv1.3;
    proxy_http_version 1.1;
    proxy_read_timeout 120s;
    proxy_buffering off;
{_default_block(state)}
{_other_block(state)}
{blocks}
}}
"""


def _listen(addr_v4: str = "", addr_v6: str = "", *, default: bool = False) -> str:
    d = " default_server" if default else ""
    v4 = f"{addr_v4}:" if addr_v4 else ""
    v6 = f"[{addr_v6}]:" if addr_v6 else "[::]:"
    return (f"        listen {v4}80{d};\n        listen {v6}80{d};\n"
            f"        listen {v4}443 ssl{d};\n        listen {v6}443 ssl{d};\n")


def _default_block(state: Path) -> str:
    return f"""    server {{
{_listen(default=True)}        server_name _;
        ssl_certificate {state}/certs/$ssl_server_name.pem;
        ssl_certificate_key {state}/certs/$ssl_server_name.pem;
        root {state}/www;
        location / {{ try_files /$host.html =404; }}
    }}"""


def _other_block(state: Path) -> str:
    return f"""    server {{
{_listen(A.OTHER_HOSTING_V4, A.OTHER_HOSTING_V6, default=True)}        server_name _;
        ssl_certificate {state}/certs/_other.pem;
        ssl_certificate_key {state}/certs/_other.pem;
        root {state}/www;
        location / {{ try_files /_other.html =404; }}
    }}"""


def _static_block(state: Path, site: Site) -> str:
    """A plain site: what the default server would do for it, with its certificate loaded at start."""
    return f"""    server {{
{_listen()}        server_name {site.host};
        ssl_certificate {state}/certs/{site.host}.pem;
        ssl_certificate_key {state}/certs/{site.host}.pem;
        root {state}/www;
        location / {{ try_files /$host.html =404; }}
    }}"""


def _special_block(state: Path, site: Site) -> str:
    return f"""    server {{
{_listen()}        server_name {site.host};
        ssl_certificate {state}/certs/{site.host}.pem;
        ssl_certificate_key {state}/certs/{site.host}.pem;
        location / {{
            proxy_pass http://127.0.0.1:{ORIGIN_APP_PORT};
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}"""
