"""The probe's side of the control helper: ask helpers (httpx), learn our public addresses (whoami),
and DNS over HTTPS as the DNS-only control of last resort."""
