"""Extract stage: page HTML -> Article (body text and metadata).

The body comes from a fallback chain, and `text_source` records which link won:

1. trafilatura (fast mode) gives the main text and metadata. Its edges are then
   checked against a second, independent extractor (trafilatura's port of
   readability): leading and trailing lines the second one does not confirm are
   trimmed (comments, related stories, podcast plugs), unless the two disagree
   about the article as a whole. On the extraction benchmark this beats plain
   trafilatura (see README, scripts/eval_extraction.py).
2. readability alone, when trafilatura finds nothing.
3. the feed entry's own summary/content, when the page gives nothing usable.

"No usable content" is a normal outcome: `Extraction.article` is None and
`problem` says why ("paywalled" or "no article text").
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import lxml.html
import py3langid
import trafilatura
from lxml.html import HtmlElement
from trafilatura.core import bare_extraction
from trafilatura.readability_lxml import Document as ReadabilityDocument
from trafilatura.settings import Document as TrafilaturaDocument
from trafilatura.settings import Extractor, set_date_params
from trafilatura.utils import load_html
from trafilatura.xml import xmltotxt

from pipeline.models import Article, FeedEntry
from pipeline.urls import article_id, canonicalize_url

MIN_TEXT_CHARS = 200  # shorter "articles" are teasers, paywall stubs or error pages
MIN_FEED_TEXT_CHARS = 200

# Edge trimming (tuned on the benchmark, see module docstring).
AGREEMENT_MIN = 0.8  # share of the reference's shingles that must be in the main text
LINE_CONFIRMED = 0.5  # share of a line's shingles found in the reference
MAX_LEAD_TRIM = 0.1  # never trim more than this share of the text from the top
LONG_PARAGRAPH_WORDS = 20  # long paragraphs right after the confirmed span are kept

SHINGLE = 4  # words per shingle when comparing texts
_TOKEN = re.compile(r"\w+", re.UNICODE)

PAYWALL_MARKERS = re.compile(
    rb'"isAccessibleForFree"\s*:\s*"?false|class="[^"]*paywall|id="[^"]*paywall'
    rb'|content_tier"\s+content="(?:locked|metered)',
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Extraction:
    article: Article | None
    problem: str | None = None


def extract(html: bytes | str, url: str, entry: FeedEntry | None = None) -> Extraction:
    tree = load_html(html)
    if tree is None:
        return _from_feed_or_problem({}, url, entry, "not an HTML page")
    data = _trafilatura(tree, url) or _metadata_only(tree, url)
    text, source = reconcile(data.get("text") or "", readability_text(tree))
    if len(text) < MIN_TEXT_CHARS:
        problem = "paywalled" if _paywalled(html) else "no article text"
        return _from_feed_or_problem(data, url, entry, problem)
    return Extraction(_article(data, text, source, url, entry))


def _trafilatura(tree: HtmlElement, url: str) -> dict[str, Any] | None:
    """trafilatura's JSON output (text and metadata) as a dict, without the JSON round
    trip and the content hash trafilatura adds to it (dedup has its own)."""
    options = Extractor(
        output_format="json",
        fast=True,
        comments=False,
        url=url,
        with_metadata=True,
        # Dates from meta tags and structured data only: the feed's timestamp is preferred
        # anyway, and the extensive search in the text costs a quarter of the extraction.
        date_params=set_date_params(extensive=False),
    )
    document = bare_extraction(copy.deepcopy(tree), options=options, as_dict=False)
    if not isinstance(document, TrafilaturaDocument):
        return None
    data = {slot: getattr(document, slot, None) for slot in document.__slots__}
    # The keys of trafilatura's JSON output (xml.build_json_output).
    data.update(
        {
            "source": data.pop("url"),
            "source-hostname": data.pop("sitename"),
            "text": xmltotxt(data.pop("body"), include_formatting=False),
        }
    )
    return data


def reconcile(main: str, reference: str) -> tuple[str, str]:
    """Trim the main text's edges to the span the reference extraction confirms."""
    if not main.strip():
        return reference, "readability"
    reference_shingles = _shingle_set(reference)
    if not reference_shingles:
        return main, "trafilatura"
    agreement = len(reference_shingles & _shingle_set(main)) / len(reference_shingles)
    if agreement < AGREEMENT_MIN:
        return main, "trafilatura"
    lines = main.split("\n")
    confirmed = [
        i for i, line in enumerate(lines) if _coverage(line, reference_shingles) >= LINE_CONFIRMED
    ]
    if not confirmed:
        return main, "trafilatura"
    start, end = confirmed[0], confirmed[-1]
    if sum(len(line) for line in lines[:start]) > MAX_LEAD_TRIM * len(main):
        start = 0
    while end + 1 < len(lines) and len(lines[end + 1].split()) >= LONG_PARAGRAPH_WORDS:
        end += 1
    trimmed = "\n".join(lines[start : end + 1])
    return trimmed, "trafilatura+readability" if trimmed != main else "trafilatura"


def readability_text(tree: HtmlElement) -> str:
    """Main text by the readability algorithm, one line per text block. Mutates `tree`."""
    try:
        summary = ReadabilityDocument(tree, min_text_length=25).summary()
        if not summary:
            return ""
        root = lxml.html.fromstring(summary)
    except Exception:  # readability raises assorted errors on odd pages; it is only a fallback
        return ""
    return "\n".join(part.strip() for part in root.itertext() if part.strip())


def detect_language(text: str) -> str | None:
    """Offline language id (py3langid) on the first thousand characters."""
    sample = text[:1000].strip()  # plenty for language id, and 4x cheaper than 4000
    if not sample:
        return None
    language, _score = py3langid.classify(sample)
    return str(language)


def shingles(text: str) -> Counter[tuple[str, ...]]:
    """The text's word 4-grams, counted (also the extraction benchmark's unit)."""
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1))


def _shingle_set(text: str) -> set[tuple[str, ...]]:
    """The distinct shingles of `shingles(text)`, without counting them (faster)."""
    tokens = _TOKEN.findall(text)
    return set(zip(tokens, tokens[1:], tokens[2:], tokens[3:], strict=False))


def _coverage(text: str, reference: set[tuple[str, ...]]) -> float:
    """Share of `text`'s distinct shingles that also occur in `reference` (0 when it has none)."""
    own = _shingle_set(text)
    return len(own & reference) / len(own) if own else 0.0


def _metadata_only(tree: HtmlElement, url: str) -> dict[str, str | None]:
    meta = trafilatura.extract_metadata(copy.deepcopy(tree), default_url=url)
    if meta is None:
        return {}
    return {
        "title": meta.title,
        "author": meta.author,
        "date": meta.date,
        "sitename": meta.sitename,
        "hostname": meta.hostname,
        "url": meta.url,
        "image": meta.image,
    }


def _from_feed_or_problem(
    data: dict[str, str | None], url: str, entry: FeedEntry | None, problem: str
) -> Extraction:
    feed_text = _html_to_text(entry.summary) if entry else ""
    if len(feed_text) >= MIN_FEED_TEXT_CHARS:
        return Extraction(_article(data, feed_text, "feed", url, entry), problem=problem)
    return Extraction(None, problem)


def _article(
    data: dict[str, str | None], text: str, source: str, url: str, entry: FeedEntry | None
) -> Article:
    title = (data.get("title") or (entry.title if entry else "") or "").strip()
    text = _without_leading_title(text, title)
    # A feed's timestamp is usually more precise than the page's (often a bare date).
    published = (entry.published if entry else None) or _parse_date(data.get("date"))
    return Article(
        id=article_id(url),
        url=url,
        canonical_url=_canonical(url, data.get("url")),
        title=title,
        text=text,
        authors=_authors(data.get("author")),
        published_at=published,
        language=detect_language(f"{title}\n{text}"),
        site=data.get("sitename")
        or data.get("source-hostname")
        or data.get("hostname")
        or urlsplit(url).hostname,
        feed_id=entry.feed_id if entry else None,
        top_image=data.get("image"),
        text_source=source,
    )


def _without_leading_title(text: str, title: str) -> str:
    """The headline is stored as `title`; a copy of it as the body's first line is dropped."""
    first, _, rest = text.partition("\n")
    same = " ".join(first.split()).casefold() == " ".join(title.split()).casefold()
    return rest if same and rest.strip() else text


def _canonical(url: str, declared: str | None) -> str:
    """The page's declared canonical URL when it is on the same host, else the link's."""
    same_host = declared and urlsplit(declared).hostname == urlsplit(url).hostname
    if declared and same_host and declared.startswith(("http://", "https://")):
        return canonicalize_url(declared)
    return canonicalize_url(url)


def _paywalled(html: bytes | str) -> bool:
    raw = html.encode("utf-8", "replace") if isinstance(html, str) else html
    return PAYWALL_MARKERS.search(raw) is not None


def _html_to_text(fragment: str) -> str:
    if not fragment.strip():
        return ""
    try:
        return " ".join(lxml.html.fromstring(f"<div>{fragment}</div>").text_content().split())
    except Exception:
        return ""


def _authors(value: str | None) -> list[str]:
    if not value:
        return []
    return [name.strip() for name in value.split(";") if name.strip()]


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
