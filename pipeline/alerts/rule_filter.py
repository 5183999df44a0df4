"""Which alert rules can match which new articles, judged in Python before asking
Elasticsearch.

With thousands of rules, searching every rule against every batch costs far more
than the few real matches. Most rules are plain words, "phrases", AND, OR and
parentheses with keyword filters (topics, sources, languages, entities); those
are evaluated here against each article's tokens and fields. The evaluation is
deliberately generous: it may let through a rule that Elasticsearch then does not
match, but never drops one it would match. Queries with anything else (NOT,
wildcards, fuzzy or proximity, field:value, ranges, boosts) are always passed on.

Generous means: tokens are split on the same word boundaries as Elasticsearch's
standard analyzer (each Han or Hiragana character is its own token, as there),
a chunk that analyzes to several tokens needs only one of them, and a group that
mixes AND with OR counts as OR.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pipeline import analysis
from pipeline.config import AlertRuleConfig

_CJK = "\u3040-\u309f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")
_LEXEME = re.compile(r'"[^"]*"(?:~\d+)?|\(|\)|[^\s()"]+|"')
_UNSUPPORTED = re.compile(r"[:*?~\[\]{}^\\/!+]|^-|^NOT$")
_FIELD_SEPARATOR = "\x00"  # phrases never run from the title into the text


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


@dataclass(frozen=True)
class Word:
    text: str


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class AllOf:
    children: tuple[Node, ...]


Node = Word | Phrase | AnyOf | AllOf


class Unsupported(Exception):
    """The query uses syntax this filter does not evaluate."""


def parse(query: str) -> Node | None:
    """The query as a tree of words and phrases, or None when it cannot be judged here."""
    lexemes = _LEXEME.findall(query)
    try:
        node, end = _group(lexemes, 0)
    except Unsupported:
        return None
    if end != len(lexemes) or node is None:
        return None  # a stray ")" or nothing that analyzes to a token
    return node


def _group(lexemes: list[str], position: int) -> tuple[Node | None, int]:
    children: list[Node] = []
    operators: set[str] = set()
    explicit = True  # the start of a group needs no operator
    while position < len(lexemes):
        lexeme = lexemes[position]
        position += 1
        if lexeme == ")":
            return _combine(children, operators), position - 1
        if lexeme in ("AND", "&&", "OR", "||"):
            operators.add("or" if lexeme in ("OR", "||") else "and")
            explicit = True
            continue
        if lexeme == "(":
            child, position = _group(lexemes, position)
            if position >= len(lexemes) or lexemes[position] != ")":
                raise Unsupported("unbalanced parentheses")
            position += 1
        elif lexeme.startswith('"'):
            if lexeme == '"' or not lexeme.endswith('"'):
                raise Unsupported("unbalanced quote or proximity")
            words = tokens(lexeme[1:-1])
            child = Phrase(tuple(words)) if len(words) > 1 else _word(words)
        elif _UNSUPPORTED.search(lexeme):
            raise Unsupported(lexeme)
        else:
            words = tokens(lexeme)
            child = _word(words) if len(words) <= 1 else AnyOf(tuple(Word(w) for w in words))
        if child is None:
            continue  # analyzes to nothing: Elasticsearch drops it too
        if not explicit:
            operators.add("and")  # the default operator
        children.append(child)
        explicit = False
    return _combine(children, operators), position


def _word(words: list[str]) -> Node | None:
    return Word(words[0]) if words else None


def _combine(children: list[Node], operators: set[str]) -> Node | None:
    if not children:
        return None
    if len(children) == 1:
        return children[0]
    return AllOf(tuple(children)) if operators <= {"and"} else AnyOf(tuple(children))


@dataclass
class ArticleTerms:
    """One article as the filter sees it: its tokens and its keyword fields."""

    sequence: list[str]
    fields: dict[str, Any]
    words: set[str] = field(init=False)
    _positions: dict[str, list[int]] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.words = set(self.sequence)

    @classmethod
    def from_source(cls, source: dict[str, Any]) -> ArticleTerms:
        """The title's and text's tokens, then their analysed forms (searches match
        those too), each field apart so that no phrase runs from one into the next."""
        sequence = tokens(source.get("title") or "")
        sequence.append(_FIELD_SEPARATOR)
        sequence += tokens(source.get("text") or "")
        for name, field_name in (("title_stems", "title"), ("text_stems", "text")):
            stems = source.get(name)
            if stems is None:
                stems = analysis.analyze(source.get(field_name) or "", source.get("language"))
            sequence.append(_FIELD_SEPARATOR)
            sequence += stems.split()
        return cls(sequence, source)

    def has_phrase(self, words: tuple[str, ...]) -> bool:
        if not all(word in self.words for word in words):
            return False
        if self._positions is None:
            self._positions = {}
            for position, token in enumerate(self.sequence):
                self._positions.setdefault(token, []).append(position)
        end = len(self.sequence)
        return any(
            start + len(words) <= end
            and all(self.sequence[start + i] == word for i, word in enumerate(words))
            for start in self._positions[words[0]]
        )


class Batch:
    """The articles of one batch as bit masks (bit i = article i), so that each rule costs
    a few integer operations instead of a loop over the articles."""

    def __init__(self, articles: Sequence[ArticleTerms]) -> None:
        self.articles = articles
        self.everything = (1 << len(articles)) - 1
        self._words: dict[str, int] = {}
        self._values: dict[tuple[str, Any], int] = {}
        self._missing: dict[str, int] = {}
        for position, article in enumerate(articles):
            bit = 1 << position
            for word in article.words:
                self._words[word] = self._words.get(word, 0) | bit
            for name in FILTER_FIELDS:
                value = article.fields.get(name)
                if value is None:
                    self._missing[name] = self._missing.get(name, 0) | bit
                    continue
                for item in value if isinstance(value, list) else [value]:
                    self._values[name, item] = self._values.get((name, item), 0) | bit

    def matching(self, node: Node | None) -> int:
        """Articles the query may match."""
        if node is None:
            return self.everything
        if isinstance(node, Word):
            return self._words.get(node.text, 0) | self._any_phrase(_word_forms(node.text))
        if isinstance(node, Phrase):
            return self._phrase(node.words) | self._any_phrase(_phrase_forms(node.words))
        return self._combined(node)

    def _phrase(self, words: tuple[str, ...]) -> int:
        mask = self.everything
        for word in words:
            mask &= self._words.get(word, 0)
        if len(words) > 1:
            for position in _positions(mask):
                if not self.articles[position].has_phrase(words):
                    mask &= ~(1 << position)
        return mask

    def _any_phrase(self, forms: tuple[str, ...]) -> int:
        """Articles holding one of the analysed forms (a Korean word's morphemes, a
        phrase's stems: in a row)."""
        mask = 0
        for form in forms:
            mask |= self._phrase(tuple(form.split(" ")))
        return mask

    def _combined(self, node: AnyOf | AllOf) -> int:
        if isinstance(node, AllOf):
            mask = self.everything
            for child in node.children:
                mask &= self.matching(child)
                if not mask:
                    break
            return mask
        mask = 0
        for child in node.children:
            mask |= self.matching(child)
        return mask

    def passing_filters(self, rule: AlertRuleConfig) -> int:
        """Articles that pass the rule's keyword filters, exactly as the terms queries in
        its search; an article that does not carry a field here passes that filter."""
        mask = self.everything
        for names, wanted in (
            (("topics",), rule.topics),
            (("language",), rule.languages),
            (("entities",), rule.entities),
            (("site", "feed_id"), rule.sources),
        ):
            if not wanted:
                continue
            allowed = 0
            for name in names:
                allowed |= self._missing.get(name, 0)
                for value in wanted:
                    allowed |= self._values.get((name, value), 0)
            mask &= allowed
        return mask


FILTER_FIELDS = ("topics", "language", "entities", "site", "feed_id")


@lru_cache(maxsize=100_000)
def _word_forms(word: str) -> tuple[str, ...]:
    return tuple(analysis.word_forms(word))


@lru_cache(maxsize=100_000)
def _phrase_forms(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(analysis.phrase_forms(list(words)))


def _positions(mask: int) -> list[int]:
    return [position for position in range(mask.bit_length()) if mask >> position & 1]


class RuleFilter:
    """Parsed rules, reused across batches (parsing 10,000 queries is not free)."""

    def __init__(self) -> None:
        self._parsed: dict[str, Node | None] = {}

    def node(self, query: str) -> Node | None:
        if query not in self._parsed:
            self._parsed[query] = parse(query)
        return self._parsed[query]

    def candidates(
        self, rules: Sequence[AlertRuleConfig], articles: Sequence[ArticleTerms]
    ) -> list[tuple[AlertRuleConfig, list[int]]]:
        """Each rule that may match, with the positions of the articles it may match."""
        batch = Batch(articles)
        result = []
        for rule in rules:
            mask = batch.passing_filters(rule)
            if mask:
                mask &= batch.matching(self.node(rule.query))
            if mask:
                result.append((rule, _positions(mask)))
        return result


def matched_terms(node: Node | None, query: str, article: ArticleTerms) -> list[str]:
    """The rule's words and phrases found in the article, for the alert message."""
    if node is None:
        words = set(tokens(re.sub(r"\b(AND|OR|NOT)\b|\w+:", " ", query)))
        return sorted(words & article.words)
    found: set[str] = set()
    _collect(node, article, found)
    return sorted(found)


def _collect(node: Node, article: ArticleTerms, found: set[str]) -> None:
    if isinstance(node, Word):
        if node.text in article.words:
            found.add(node.text)
    elif isinstance(node, Phrase):
        if article.has_phrase(node.words):
            found.add(" ".join(node.words))
    else:
        for child in node.children:
            _collect(child, article, found)
