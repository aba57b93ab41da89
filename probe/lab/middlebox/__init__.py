"""The ISP's middlebox: what netfilter alone cannot do, in one asyncio process in the isp namespace.

Run as `python -m probe.lab.middlebox CONFIG.json` (the lab starts it). Parts, each enabled by the
config the lab writes from the scenario:

* `stub`      DNS stub answering SERVFAIL / REFUSED, for dnsmasq to forward censored names to
* `httpbox`   the ISP blockpage server, and a transparent HTTP interceptor (http_blockpage,
              http_redirect, http_host_eof) for port-80 flows netfilter REDIRECTs to it
* `tlsbox`    a transparent TLS interceptor: MITM with a rogue CA (tls_mitm), throttling
              (tls_throttle), a FIN after the ClientHello (tls_sni_eof), plain relay for every
              other SNI
* `nfq`       NFQUEUE handlers: forged DNS replies racing the real one (dns_inject) and a
              one-way delayer that stands in for netem (network.rtt_ms)

It never decides what to censor by itself: rules come from the config; matching is by host name
(exact or suffix), as the netfilter rules do.
"""
