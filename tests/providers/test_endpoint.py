"""Provider endpoints: what shapes answers goes into the version id; credentials never show."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from andon.providers.endpoint import masked_url, public_url, scrub, url_secrets

secret = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=6, max_size=24).map(lambda s: "S" + s)
plain = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=10)


@given(user=plain, password=secret, key=secret, host=plain, path=plain)
def test_masked_url_hides_userinfo_and_every_query_value(
    user: str, password: str, key: str, host: str, path: str
) -> None:
    url = f"https://{user}:{password}@{host}.example:8443/{path}?key={key}&api-version=2024"
    shown = masked_url(url)
    assert password not in shown and key not in shown
    assert shown == f"https://***@{host}.example:8443/{path}?key=***&api-version=***"
    assert scrub(f"cannot connect to {url}: refused", url_secrets(url)).count(password) == 0


@given(password=secret, key=secret, version=plain)
def test_public_url_keeps_what_selects_the_model_and_drops_credentials(password: str, key: str, version: str) -> None:
    url = f"http://me:{password}@host/v1/?api-version={version}&access_token={key}"
    shown = public_url(url)
    assert password not in shown and key not in shown
    assert shown == f"http://host/v1?api-version={version}&access_token=***"


def test_an_unparsable_url_is_masked_whole() -> None:
    assert masked_url("http://[::1") == "***"
    assert public_url("http://host:notaport/") == "***"
