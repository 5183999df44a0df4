"""The analyst's query language as Elasticsearch queries: bare words must all match,
AND/OR/NOT, "phrases", field:value, wildcards; plus keyword filters. Shared by search,
alert rules, saved searches and spike rules, so they all match the same articles.

Every word and phrase matches its analysed forms in `title_stems`/`text_stems`
(pipeline.analysis): `missile` finds "missiles", `ракета` finds "ракетой", `미사일`
finds "순항미사일을". The query keeps Lucene's query string syntax: each bare word or
phrase is rewritten into a group of alternatives, and everything else (operators,
parentheses, wildcards, fuzzy, ranges, other fields) is passed on as written, so the
boolean structure is exactly what the analyst typed.

Exact forms rank first. The analysed fields hold the analysed form of every word of
an article, so matching the exact form as well finds nothing more, but scoring it on
every match doubles the cost of a search. Rankings add it afterwards instead: a rescore
of the top hits by `exact_query` (pages.py), or, where Elasticsearch cannot rescore
(search_after paging), the exact form as a boosted alternative (`exact=True`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeline import analysis

SEARCH_FIELDS = ["title^3", "text"]
STEM_FIELDS = {"title": "title_stems", "text": "text_stems"}
EXACT_BOOST = 2  # an exact form ranks above an inflected one
MAX_ANALYSED_WORDS = 64  # words past this match their exact form only (bounded query size)
MAX_WORD_CHARS = 64  # longer "words" are not language: matched as written

# A lexeme: a field's phrase, a phrase, a range (one lexeme: `date:[2026 TO 2027]`), a
# parenthesis, a word (with whatever syntax is glued to it), or a stray quote.
_LEXEME = re.compile(
    r'[^\s()"]+:"[^"]*"(?:~\d+)?|"[^"]*"(?:~\d+)?|[^\s()"\[{]*[\[{][^\]}]*[\]}]\S*'
    r'|\(|\)|[^\s()"]+|"'
)
_OPERATORS = {"AND", "OR", "NOT", "&&", "||", "!"}
# Query string syntax that is passed on untouched: wildcards, fuzzy, boosts, ranges,
# regular expressions, escapes. A hyphen inside a word is just part of it.
_PASS_THROUGH = re.compile(r'[=&|><!(){}\[\]^"~*?\\/]')


@dataclass(frozen=True)
class Filters:
    topics: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # site names or feed ids
    languages: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    since: str | None = None  # ISO date or date-time, inclusive
    until: str | None = None  # ISO date or date-time, inclusive


def filter_clauses(filters: Filters) -> list[dict[str, Any]]:
    """Keyword filters as Elasticsearch clauses."""
    clauses: list[dict[str, Any]] = []
    if filters.topics:
        clauses.append({"terms": {"topics": filters.topics}})
    if filters.sources:
        sources = filters.sources
        clauses.append(
            {"bool": {"should": [{"terms": {"site": sources}}, {"terms": {"feed_id": sources}}]}}
        )
    if filters.languages:
        clauses.append({"terms": {"language": filters.languages}})
    if filters.entities:
        clauses.append({"terms": {"entities": filters.entities}})
    if filters.since or filters.until:
        bounds = {"gte": filters.since, "lte": filters.until}
        clauses.append({"range": {"published_at": {k: v for k, v in bounds.items() if v}}})
    return clauses


def build_query(
    query: str, latin: Iterable[str] | None = None, exact: bool = False
) -> dict[str, Any]:
    """Bare words must all match (AND); OR and NOT work as the analyst writes them.
    `latin`: the Latin-script languages to stem for (those in the index; default all);
    `exact`: each word's exact form is a boosted alternative too."""
    return {
        "query_string": {
            "query": analysed_query(query, latin, exact),
            "fields": SEARCH_FIELDS,
            "default_operator": "AND",
            "analyze_wildcard": True,
        }
    }


def exact_query(query: str) -> dict[str, Any]:
    """The query on the exact word forms only: what ranks exact forms first. (Each word
    may match in any field, as in the analysed query, not all words in one field.)"""
    return {
        "query_string": {
            "query": query,
            "fields": SEARCH_FIELDS,
            "type": "cross_fields",
            "default_operator": "AND",
            "lenient": True,
        }
    }


def analysed_query(query: str, latin: Iterable[str] | None = None, exact: bool = False) -> str:
    """The query string with each bare word and phrase widened to its analysed forms.
    A query with unbalanced quotes or parentheses is left as it is, so that the error
    Elasticsearch reports quotes what the analyst wrote."""
    if query.count('"') % 2 or query.count("(") != query.count(")"):
        return query
    parts = []
    words_seen = 0
    for lexeme in _LEXEME.findall(query):
        rewritten = None
        if words_seen < MAX_ANALYSED_WORDS:
            rewritten = _rewrite(lexeme, latin, exact)
        if rewritten is not None:
            words_seen += 1
        parts.append(rewritten or lexeme)
    return " ".join(parts)


def _rewrite(lexeme: str, latin: Iterable[str] | None, exact: bool) -> str | None:
    """`word` -> `(title_stems:(forms)^3 OR text_stems:(forms))`, with `word^2 OR ` first
    when `exact`; None when the lexeme is syntax or carries syntax of its own (or has
    no analysed form: it matches as written)."""
    if lexeme in _OPERATORS or lexeme in ("(", ")"):
        return None
    prefix = lexeme[0] if lexeme[0] in "+-" and len(lexeme) > 1 else ""
    body = lexeme[len(prefix) :]
    target = None  # every text field
    name, colon, value = body.partition(":")
    if colon:
        if name not in STEM_FIELDS or not value:
            return None
        target, body = name, value
    if body.startswith('"'):
        match = re.fullmatch(r'"([^"]*)"(~\d+)?', body)
        if not match:
            return None
        words = analysis.words(match[1])
        slop = match[2] or ""
        forms = [f'"{form}"{slop}' for form in analysis.phrase_forms(words, latin)]
    else:
        if _PASS_THROUGH.search(body):
            return None
        words = analysis.words(body)
        if len(words) == 1:
            forms = [_quoted(form) for form in analysis.word_forms(words[0], latin)]
        else:
            forms = [f'"{form}"' for form in analysis.phrase_forms(words, latin)]
    if not forms or any(len(word) > MAX_WORD_CHARS for word in words):
        return None
    alternatives = []
    if exact:
        alternatives.append(f"{target}:{body}^{EXACT_BOOST}" if target else f"{body}^{EXACT_BOOST}")
    for field_name, stems in STEM_FIELDS.items():
        if target in (None, field_name):
            boost = "^3" if field_name == "title" else ""
            alternatives.append(f"{stems}:({' OR '.join(forms)}){boost}")
    return f"{prefix}({' OR '.join(alternatives)})"


def _quoted(form: str) -> str:
    """A Korean word's morphemes follow one another: a phrase in the analysed field."""
    return f'"{form}"' if " " in form else form


def highlight_query(query: str) -> dict[str, Any]:
    """What the snippets mark: the query's exact words, and the words of the text that
    share a stem with a query word (a prefix of the stem, or a Korean morpheme inside
    a word), so `missile` marks "missiles" and `미사일` marks "순항미사일을"."""
    should: list[dict[str, Any]] = [
        {"query_string": {"query": query, "fields": ["title", "text"], "lenient": True}}
    ]
    for lexeme in _LEXEME.findall(query)[:MAX_ANALYSED_WORDS]:
        for word in analysis.words(lexeme.strip('"+-')):
            for stem in analysis.highlight_stems(word):
                for name in STEM_FIELDS:
                    should.append(_stem_highlight(name, stem))
    return {"bool": {"should": should}}


def _stem_highlight(field_name: str, stem: str) -> dict[str, Any]:
    if analysis.is_hangul(stem):
        return {"wildcard": {field_name: {"value": f"*{stem}*"}}}
    return {"prefix": {field_name: {"value": stem}}}


def filtered_query(
    query: str, filters: Filters, latin: Iterable[str] | None = None, exact: bool = False
) -> dict[str, Any]:
    """The query (every article when empty) restricted by the filters."""
    text = build_query(query, latin, exact) if query.strip() else {"match_all": {}}
    return {"bool": {"must": [text], "filter": filter_clauses(filters)}}
