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

import contextlib
import logging
import lzma
import os
import re
import shutil
import zipfile
from array import array
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import lxml.etree
import lxml.html
import numpy as np
import py3langid
import py3langid.langid as langid_module
from courlan import extract_domain
from htmldate import find_date
from lxml.html import HtmlElement
from trafilatura import metadata as page_metadata
from trafilatura import utils as trafilatura_utils
from trafilatura.core import bare_extraction
from trafilatura.readability_lxml import Document as ReadabilityDocument
from trafilatura.settings import Document as TrafilaturaDocument
from trafilatura.settings import Extractor, set_date_params
from trafilatura.utils import load_html
from trafilatura.xml import xmltotxt

from pipeline.models import Article, FeedEntry
from pipeline.urls import article_id, canonicalize_url

logger = logging.getLogger(__name__)
MIN_TEXT_CHARS = 200  # shorter "articles" are teasers, paywall stubs or error pages
# News pages hold a few thousand elements (1,587 at most in the extraction corpus).
# Extraction time and memory grow with them: 5 MB of dense markup (200,000 elements)
# took 21 s and 700 MB. A page beyond this is refused (the feed's summary may stand in).
MAX_ELEMENTS = 50_000
MIN_FEED_TEXT_CHARS = 200


SHINGLE = 4  # words per shingle when comparing texts
_TOKEN = re.compile(r"\w+", re.UNICODE)

PAYWALL_MARKERS = re.compile(
    rb'"isAccessibleForFree"\s*:\s*"?false|class="[^"]*paywall|id="[^"]*paywall'
    rb'|content_tier"\s+content="(?:locked|metered)',
    re.IGNORECASE,
)


# lxml.html's parser asks a Python function for the class of every element it hands
# out (form fields get their own classes); extraction touches hundreds of thousands of
# elements per page and never uses the form classes. The same classes from lxml's C
# lookup make extraction 8 % cheaper with the same output.
ELEMENT_CLASSES = lxml.etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement,
    comment=lxml.html.HtmlComment,
    pi=lxml.html.HtmlProcessingInstruction,
    entity=lxml.html.HtmlEntity,
)
trafilatura_utils.HTML_PARSER.set_element_class_lookup(ELEMENT_CLASSES)
# Dates from meta tags and structured data only: the extensive search in the text costs
# a quarter of the extraction.
DATE_PARAMS = set_date_params(extensive=False)


@dataclass(frozen=True)
class Trimming:
    """How the main text's edges are trimmed (tuned on the benchmark; scripts/
    eval_extraction.py --folds cross-validates the choice)."""

    agreement_min: float = 0.8  # share of the reference's shingles that must be in the main text
    line_confirmed: float = 0.5  # share of a line's shingles found in the reference
    max_lead_trim: float = 0.1  # never trim more than this share of the text from the top
    long_paragraph_words: int = 20  # long paragraphs right after the confirmed span are kept


TRIMMING = Trimming()


@dataclass(frozen=True)
class Extraction:
    article: Article | None
    problem: str | None = None


def extract(html: bytes | str, url: str, entry: FeedEntry | None = None) -> Extraction:
    found = candidates(html, url, entry)
    return found if isinstance(found, Extraction) else finish(found, html, url, entry)


@dataclass(frozen=True)
class Candidates:
    """What a page offers before its edges are trimmed: metadata, trafilatura's main text
    and the reference text (readability)."""

    data: dict[str, str | None]
    main: str
    reference: str


def candidates(
    html: bytes | str, url: str, entry: FeedEntry | None = None
) -> Candidates | Extraction:
    """The page's candidates, or the Extraction when the page is refused outright."""
    tree = load_html(html)
    if tree is None:
        return _from_feed_or_problem({}, url, entry, "not an HTML page")
    elements = sum(1 for _ in tree.iter())
    if elements > MAX_ELEMENTS:
        problem = f"page too large to extract ({elements:,} HTML elements, limit {MAX_ELEMENTS:,})"
        return _from_feed_or_problem({}, url, entry, problem)
    # The feed's timestamp is preferred to the page's (see _article): no date search then.
    data = _metadata(tree, url, find_published=not (entry and entry.published))
    main = _main_text(tree, url)
    return Candidates(data, main, readability_text(tree))  # readability changes the tree


def finish(
    found: Candidates,
    html: bytes | str,
    url: str,
    entry: FeedEntry | None = None,
    trimming: Trimming = TRIMMING,
) -> Extraction:
    """The article from the trimmed main text (or why there is none)."""
    text, source = reconcile(found.main, found.reference, trimming)
    if len(text) < MIN_TEXT_CHARS:
        problem = "paywalled" if _paywalled(html) else "no article text"
        return _from_feed_or_problem(found.data, url, entry, problem)
    return Extraction(_article(found.data, text, source, url, entry))


def _main_text(tree: HtmlElement, url: str) -> str:
    """trafilatura's main text (fast mode), extracted from its own copy of `tree`. The
    metadata comes from `_metadata`, which leaves out what is never stored."""
    options = Extractor(output_format="json", fast=True, comments=False, url=url)
    document = bare_extraction(tree, options=options, as_dict=False)
    if not isinstance(document, TrafilaturaDocument):
        return ""
    return xmltotxt(document.body, include_formatting=False)


def _metadata(tree: HtmlElement, url: str, find_published: bool) -> dict[str, str | None]:
    """The page's title, author, date, site name, canonical URL and image: trafilatura's
    `extract_metadata`, step by step, without the parts newsmon never stores."""
    meta = page_metadata.examine_meta(tree)
    if meta.author and " " not in meta.author:
        meta.author = None  # a bare handle is not a byline (as trafilatura judges)
    with contextlib.suppress(Exception):  # trafilatura's JSON-LD reader trips on odd data
        meta = page_metadata.extract_meta_json(tree, meta)
    meta.title = meta.title or page_metadata.extract_title(tree)
    meta.author = meta.author or page_metadata.extract_author(tree)
    meta.url = meta.url or page_metadata.extract_url(tree, url)
    if meta.url:
        meta.hostname = extract_domain(meta.url, fast=True)
    if find_published:
        meta.date = find_date(tree, **{**DATE_PARAMS, "url": meta.url})
    meta.sitename = (meta.sitename or page_metadata.extract_sitename(tree) or "").lstrip("@")
    if meta.sitename and "." not in meta.sitename and not meta.sitename[0].isupper():
        meta.sitename = meta.sitename.title()
    elif not meta.sitename and meta.url and (match := page_metadata.META_URL.match(meta.url)):
        meta.sitename = match[1]
    meta.clean_and_trim()
    return {
        "title": meta.title,
        "author": meta.author,
        "date": meta.date,
        "sitename": meta.sitename,
        "hostname": meta.hostname,
        "url": meta.url,
        "image": meta.image,
    }


def reconcile(main: str, reference: str, trimming: Trimming = TRIMMING) -> tuple[str, str]:
    """Trim the main text's edges to the span the reference extraction confirms."""
    if not main.strip():
        return reference, "readability"
    reference_shingles = _shingle_set(reference)
    if not reference_shingles:
        return main, "trafilatura"
    agreement = len(reference_shingles & _shingle_set(main)) / len(reference_shingles)
    if agreement < trimming.agreement_min:
        return main, "trafilatura"
    lines = main.split("\n")
    confirmed = [
        i
        for i, line in enumerate(lines)
        if _coverage(line, reference_shingles) >= trimming.line_confirmed
    ]
    if not confirmed:
        return main, "trafilatura"
    start, end = confirmed[0], confirmed[-1]
    if sum(len(line) for line in lines[:start]) > trimming.max_lead_trim * len(main):
        start = 0
    while end + 1 < len(lines) and len(lines[end + 1].split()) >= trimming.long_paragraph_words:
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


MODEL_CACHE_ERRORS = (OSError, ValueError, KeyError, zipfile.BadZipFile)


def load_language_model(cache_dir: Path | None) -> None:
    """Load py3langid's model now (it loads lazily on first use). The model ships
    LZMA-compressed and decompressing it is most of a process's start-up (0.55 of
    0.65 s): it is decompressed once into `cache_dir` and read from there afterwards.
    Any trouble with the cached copy falls back to py3langid's own loading."""
    if cache_dir is not None and langid_module.IDENTIFIER is None:
        try:
            cached = _decompressed_model(cache_dir)
            try:
                langid_module.IDENTIFIER = _identifier_from(cached)
            except MODEL_CACHE_ERRORS:
                cached.unlink()  # made anew at the next start
                raise
        except MODEL_CACHE_ERRORS as exc:
            logger.warning("language model cache unusable, loading the packaged model: %s", exc)
    py3langid.classify("warm up")


def _decompressed_model(cache_dir: Path) -> Path:
    packaged = langid_module.MODEL_DIR / langid_module.MODEL_FILE
    stat = packaged.stat()
    cached = cache_dir / f"langid-model-{stat.st_size}-{int(stat.st_mtime)}.npz"
    if not cached.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.part")
        with lzma.open(packaged) as source, partial.open("wb") as target:
            shutil.copyfileobj(source, target, length=1 << 20)
        partial.replace(cached)  # atomic: a concurrent reader sees all of it or nothing
    return cached


def _identifier_from(path: Path) -> langid_module.LanguageIdentifier:
    """The identifier as py3langid's own loader builds it, from the decompressed file."""
    with np.load(path, allow_pickle=False) as data:
        return langid_module.LanguageIdentifier(
            np.asarray(data["ptc"]),
            np.asarray(data["pc"]),
            data["classes"].tolist(),
            _uint_array(data["nextmove"]),
            data["out_feat"].tolist(),
            tk_row=_uint_array(data["nextmove_row"]),
        )


def _uint_array(values: np.ndarray) -> array:
    """py3langid walks its automaton over stdlib arrays (faster to index than numpy's)."""
    typecodes = {2: "H", 4: "I", 8: "L"}
    out = array(typecodes[values.dtype.itemsize])
    out.frombytes(np.ascontiguousarray(values).tobytes())
    return out


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
        site=data.get("sitename") or data.get("hostname") or urlsplit(url).hostname,
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
