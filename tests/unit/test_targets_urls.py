"""URL normal form: what is accepted, what it becomes, and what is refused with a helpful error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probe.errors import InputError
from probe.targets import normalise_url, parse_url_arg
from probe.targets.urls import host_of, https_twin, sort_key, url_key


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("http://example.com", "http://example.com/"),
        ("HTTP://Example.COM/Path", "http://example.com/Path"),  # path case is kept
        ("https://www.example.com:443/a", "https://www.example.com/a"),
        ("http://example.com:80/", "http://example.com/"),
        ("http://example.com:8080/", "http://example.com:8080/"),
        ("https://example.com:80/", "https://example.com:80/"),
        ("http://namba.kz/#!/", "http://namba.kz/"),
        ("https://example.com/a?b=c#frag", "https://example.com/a?b=c"),
        ("http://пример.рф/", "http://xn--e1afmkfd.xn--p1ai/"),
        ("http://ПРИМЕР.рф/путь?q=ё", "http://xn--e1afmkfd.xn--p1ai/%D0%BF%D1%83%D1%82%D1%8C?q=%D1%91"),
        ("http://example.com./", "http://example.com/"),
        ("https://1.1.1.1/dns-query?dns=q80B", "https://1.1.1.1/dns-query?dns=q80B"),
        ("https://[2001:DB8:0::1]:8443/x", "https://[2001:db8::1]:8443/x"),
        ("https://example.com/a%20b", "https://example.com/a%20b"),
    ],
)
def test_normal_form(url: str, normal: str) -> None:
    assert normalise_url(url) == normal
    assert normalise_url(normal) == normal


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("javascript:alert(1)", "scheme 'javascript:'"),
        ("JavaScript://example.com/%0aalert(1)", "scheme 'javascript:'"),
        ("file:///etc/passwd", "scheme 'file:'"),
        ("ftp://example.com/", "scheme 'ftp:'"),
        ("example.com", "no scheme"),
        ("//example.com/", "no scheme"),
        ("http:/example.com", "no host"),
        ("http://", "no host"),
        ("http:///path", "no host"),
        ("http://exa mple.com/", "contains a space"),
        ("http://example.com/a b", "contains a space"),
        (" http://example.com/", "contains a space"),
        ("http://example.com/\tx", "'\\t'"),
        ("http://example.com\\path", "'\\\\'"),
        ("http://example.com/\u00a0", "'\\xa0'"),
        ("http://user:pw@example.com/", "user name or password"),
        ("http://localhost/", "not a valid public domain name"),
        ("http://exa_mple.com/", "not a valid public domain name"),
        ("http://-bad.com/", "not a valid public domain name"),
        ("http://1.2.3/", "not a valid IP address"),
        ("http://300.1.1.1/", "not a valid IP address"),
        ("http://example.com:99999/", "malformed URL"),
        ("http://example.com:0/", "port 0"),
        ("http://[::1/", "malformed URL"),
        ("", "empty URL"),
        ("http://example.com/" + "a" * 3000, "characters long"),
    ],
)
def test_refused_with_reason_and_hint(url: str, says: str) -> None:
    with pytest.raises(InputError) as info:
        normalise_url(url)
    assert says in info.value.message
    assert info.value.hint


def test_missing_scheme_hint_shows_how_to_write_it() -> None:
    with pytest.raises(InputError) as info:
        normalise_url("selftanu.kz")
    assert info.value.hint == "write https://selftanu.kz or http://selftanu.kz"


def test_parse_url_arg_strips_outer_space_and_returns_a_target() -> None:
    target = parse_url_arg("  https://Selftanu.KZ \n")
    assert target.url == "https://selftanu.kz/"
    with pytest.raises(InputError):
        parse_url_arg("javascript:void(0)")


def test_url_key_treats_trailing_slash_as_the_same_target() -> None:
    assert url_key("http://a.kz/x/") == url_key("http://a.kz/x")
    assert url_key("http://a.kz/") == "http://a.kz/"
    assert url_key("http://a.kz/x/?q=1") == "http://a.kz/x?q=1"
    assert url_key("http://a.kz/x") != url_key("https://a.kz/x")


def test_twin_host_and_sort_helpers() -> None:
    assert https_twin("http://a.kz/x") == "https://a.kz/x"
    assert https_twin("https://a.kz/x") is None
    assert host_of("https://a.kz:8443/x?y") == "a.kz"
    assert host_of("https://[2001:db8::1]:8443/") == "[2001:db8::1]"
    urls = ["https://www.b.kz/", "http://a.kz/", "https://a.kz/", "http://a.kz/z"]
    assert sorted(urls, key=sort_key) == ["http://a.kz/", "https://a.kz/", "http://a.kz/z", "https://www.b.kz/"]


_label = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?", fullmatch=True)
_host = st.one_of(
    st.builds(lambda labels, tld: ".".join([*labels, tld]), st.lists(_label, min_size=1, max_size=3),
              st.sampled_from(["kz", "org", "COM", "рф", "қаз"])),
    st.builds(lambda a, b, c, d: f"{a}.{b}.{c}.{d}", *(st.integers(0, 255),) * 4),
)
_path = st.text(st.characters(exclude_categories=["Cc", "Cs", "Zs", "Zl", "Zp"],
                              exclude_characters="\\#?\u0085\u180e\u200b\ufeff"), max_size=20)


@given(scheme=st.sampled_from(["http", "https", "HTTP", "Https"]), host=_host,
       port=st.one_of(st.none(), st.integers(1, 65535)), path=_path,
       query=st.one_of(st.none(), _path), fragment=st.one_of(st.none(), _path))
def test_normal_form_is_idempotent(scheme: str, host: str, port: int | None, path: str,
                                   query: str | None, fragment: str | None) -> None:
    url = f"{scheme}://{host}" + (f":{port}" if port else "") + "/" + path
    url += f"?{query}" if query is not None else ""
    url += f"#{fragment}" if fragment is not None else ""
    try:
        once = normalise_url(url)
    except InputError:
        return  # e.g. an all-numeric or malformed host: refusing is fine, crashing is not
    assert normalise_url(once) == once
    assert once.isascii()
    assert "#" not in once
    assert once.startswith(("http://", "https://"))


@given(st.text(max_size=60))
def test_any_text_is_normalised_or_refused_with_input_error(text: str) -> None:
    try:
        result = normalise_url(text)
    except InputError as exc:
        assert exc.message
    else:
        assert normalise_url(result) == result
