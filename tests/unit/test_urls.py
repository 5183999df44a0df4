from pipeline.urls import article_id, canonicalize_url


def test_canonicalize_drops_tracking_fragment_default_port_and_case() -> None:
    url = "HTTPS://Example.COM:443/News/Story?utm_source=rss&b=2&fbclid=x&a=1#comments"
    assert canonicalize_url(url) == "https://example.com/News/Story?a=1&b=2"


def test_canonicalize_keeps_meaningful_query_and_port() -> None:
    assert canonicalize_url("http://h:8080/a?id=7") == "http://h:8080/a?id=7"
    assert canonicalize_url("http://h") == "http://h/"


def test_article_id_is_stable_across_url_variants() -> None:
    a = article_id("https://example.com/a?utm_medium=feed")
    b = article_id("https://EXAMPLE.com/a#top")
    assert a == b and len(a) == 64
    assert article_id("https://example.com/b") != a
