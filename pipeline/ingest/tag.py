"""Tag stage: entities and topics, with the evidence behind every tag.

Matching: every entity alias and group phrase from config/topics.yaml goes into
one Aho-Corasick automaton (one pass over the text, however many topics).
Matches respect word boundaries ("Russia" is not in "Prussia", "Korea" inside
"North Korea" is North Korea, not Korea), overlapping matches keep the longest.
An alias ending in `*` matches any word ending (Россия, России, Россией); Korean
aliases accept attached particles (북한이, 북한의); all-capitals aliases (US,
DPRK) match only in capitals.

Topics: a topic has its own rule and `also` alternatives (one per kind of core event);
it is tagged when any rule holds, with the best rule's score and evidence. A rule holds
when every `all_of` term and at least one `any_of` term (if given) is mentioned, no
`none_of` term is, the `near` terms meet within one `window` (sentence, paragraph or N
words), the relevant mentions reach `min_mentions`, and the score reaches `min_score`.
The score is that of the weakest `all_of` term (or of the `any_of` terms together when
there is no `all_of`): the sum of its mentions' weights, 3 in the title, 1.5 in the
lead, 1 in the body, 0.5 late in a text of 600 characters or more, less the weighted
mentions of its `against` terms (a story mainly about something else). A tagged topic
also tags its `parent` (and its parent's parent).

Only the rules that can hold are looked at: the cheap checks (required groups
mentioned, no veto, the score) run for every rule at once as array operations over the
article's weight per group, and what rules ask of an article is computed once per
group, so a taxonomy of a thousand topics costs a few times the starter one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache, cached_property
from typing import NamedTuple

import ahocorasick
import numpy as np

from pipeline.config import RuleConfig, Taxonomy, TopicConfig
from pipeline.models import Article, EntityHit, Mention, Tag, TaggedArticle

try:
    from pipeline.ingest import _scan
except ImportError:  # not compiled at install (no C compiler): the Python finder is used
    _scan = None  # type: ignore[assignment]

TITLE_WEIGHT = 3.0
LEAD_WEIGHT = 1.5
BODY_WEIGHT = 1.0
LATE_WEIGHT = 0.5
LEAD_SHARE = 0.2  # the first fifth of the text (or its first paragraph) is the lead
LATE_SHARE = 0.67  # past two thirds of the text a mention is incidental
# ... of a text long enough to have asides: in a brief of a few sentences (a feed's
# summary, a wire flash) the last one is as much the story as the first.
LATE_MIN_CHARS = 600
MAX_EVIDENCE = 20
MAX_WINDOW_CHARS = 400

_SENTENCE_STOP = re.compile(r"[.!?。\n]")  # where a sentence break may start


def _is_hangul(char: str) -> bool:
    return "\uac00" <= char <= "\ud7a3"


# What may follow a one-syllable Korean alias: particles only (핵을, 북은), so that it is
# not read inside another word (핵 in 핵심, "core"; 북 in 북쪽, "north side"). Longest
# first: the first that fits is taken.
KOREAN_PARTICLES = (
    "으로",
    "에서",
    "과",
    "와",
    "을",
    "를",
    "이",
    "가",
    "은",
    "는",
    "의",
    "에",
    "도",
    "만",
    "로",
)
_PARTICLES_OF_TWO = frozenset(p for p in KOREAN_PARTICLES if len(p) == 2)
_PARTICLES_OF_ONE = frozenset(p for p in KOREAN_PARTICLES if len(p) == 1)


def _lower(text: str) -> str:
    """Lower-case without changing the length, so offsets stay valid."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


class _Pattern(NamedTuple):
    ref: str  # entity id or "phrase:<phrase>"
    exact: str | None  # the alias as written, when it must match in capitals
    prefix: bool  # alias ended in "*": any word ending may follow
    phrase: bool  # a group's phrase, not an entity's name


class _Key(NamedTuple):
    """An automaton key (a lower-cased alias) and what its matches need checking."""

    length: int
    # A Korean phrase of three or more syllables at the end of a compound (순항미사일,
    # 군통신선) is still that phrase; shorter ones are too ambiguous (국회 in 당국회담),
    # so their compounds are listed as phrases of their own (시험발사, 독자제재).
    compound: bool
    korean_end: bool  # a Korean word: particles may follow (only particles, if one syllable)
    patterns: tuple[_Pattern, ...]


class Matcher:
    """All aliases and phrases of a taxonomy, found in one pass over a text: by the
    compiled finder (`_scan.c`, a trie walked from each word start) where it was built
    at install, else by an Aho-Corasick automaton in Python (the reference the compiled
    one is tested against; 3-4x slower)."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        patterns: dict[str, list[_Pattern]] = {}
        for entity in taxonomy.entities.values():
            for alias in entity.aliases:
                self._add(patterns, alias, entity.id)
        for group in taxonomy.groups.values():
            for phrase in group.phrases:
                self._add(patterns, phrase, phrase_ref(phrase))
        self._keys = {
            key: _Key(
                len(key), len(key) >= 3 and _is_hangul(key[0]), _is_hangul(key[-1]), tuple(entries)
            )
            for key, entries in patterns.items()
        }
        # Refs numbered in their sort order, so the compiled finder orders ties as Python does.
        self._refs = sorted({p.ref for entries in patterns.values() for p in entries})
        self._scanner = _scan.Scanner(_scanner_tables(self._keys, self._refs)) if _scan else None

    @staticmethod
    def _add(patterns: dict[str, list[_Pattern]], alias: str, ref: str) -> None:
        prefix = alias.endswith("*")
        term = alias.rstrip("*").strip()
        if not term:
            return
        exact = term if term.isupper() and sum(c.isalpha() for c in term) >= 2 else None
        entries = patterns.setdefault(_lower(term), [])
        if not any(p.ref == ref for p in entries):
            entries.append(_Pattern(ref, exact, prefix, ref.startswith("phrase:")))

    @property
    def compiled(self) -> bool:
        return self._scanner is not None

    def find(self, field: str, text: str) -> list[Mention]:
        """Every alias and phrase in `text`, on word boundaries, leftmost longest."""
        if self._scanner is None:
            return self.find_in_python(field, text)
        refs = self._refs
        found = iter(self._scanner.find(text, _lower(text)))  # start, end, ref, start, ...
        return [
            Mention(text[start:end], refs[ref], field, start, end)
            for start, end, ref in zip(found, found, found, strict=True)
        ]

    @cached_property
    def _automaton(self) -> ahocorasick.Automaton | None:
        if not self._keys:
            return None
        automaton = ahocorasick.Automaton()
        for key, value in self._keys.items():
            automaton.add_word(key, value)
        automaton.make_automaton()
        return automaton

    def find_in_python(self, field: str, text: str) -> list[Mention]:
        """`find` without the compiled finder (~100 matches an article: kept flat)."""
        automaton = self._automaton
        if automaton is None or not text:
            return []
        size = len(text)
        found: list[tuple[int, int, int, str]] = []
        for last, (length, compound, korean_end, patterns) in automaton.iter(_lower(text)):
            start = last - length + 1
            bound = start == 0 or not text[start - 1].isalnum()
            if not bound and not (compound and _is_hangul(text[start - 1])):
                continue
            core_end = last + 1
            for ref, exact, prefix, phrase in patterns:
                if not bound and not phrase:
                    continue  # names are never the end of a compound (평양 in 태평양)
                if exact is not None and text[start:core_end] != exact:
                    continue
                end = core_end
                if prefix or (korean_end and length > 1):
                    while end < size and text[end].isalnum():
                        end += 1
                else:
                    if korean_end:
                        if text[end : end + 2] in _PARTICLES_OF_TWO:
                            end += 2
                        elif text[end : end + 1] in _PARTICLES_OF_ONE:
                            end += 1
                    if end < size and text[end].isalnum():
                        continue
                found.append((start, -end, core_end, ref))
        return _leftmost_longest(field, text, found)


def _scanner_tables(keys: dict[str, _Key], refs: list[str]) -> tuple[bytes, ...]:
    """The trie of `keys` and their patterns as int32 tables for `_scan.Scanner`: a node's
    children are contiguous and sorted by character (a binary search per step)."""
    ref_ids = {ref: index for index, ref in enumerate(refs)}
    trie: list[dict[str, int]] = [{}]
    node_key = [-1]
    key_rows: list[int] = []
    pattern_rows: list[int] = []
    exact_chars: list[int] = []
    for key_index, (key, info) in enumerate(keys.items()):
        node = 0
        for char in key:
            child = trie[node].get(char)
            if child is None:
                child = trie[node][char] = len(trie)
                trie.append({})
                node_key.append(-1)
            node = child
        node_key[node] = key_index
        first_pattern = len(pattern_rows) // 5
        for ref, exact, prefix, phrase in info.patterns:
            exact_at, exact_length = (len(exact_chars), len(exact)) if exact else (0, -1)
            exact_chars += [ord(c) for c in exact or ""]
            pattern_rows += [ref_ids[ref], exact_at, exact_length, prefix, phrase]
        last_pattern = len(pattern_rows) // 5
        key_rows += [info.length, info.compound, info.korean_end, first_pattern, last_pattern]
    first, chars, children = [0], [], []
    for edges in trie:
        for char, child in sorted(edges.items()):
            chars.append(ord(char))
            children.append(child)
        first.append(len(chars))
    two = [ord(c) for particle in sorted(_PARTICLES_OF_TWO) for c in particle]
    one = [ord(particle) for particle in sorted(_PARTICLES_OF_ONE)]
    rows = [first, chars, children, node_key, key_rows, pattern_rows, exact_chars, two, one]
    return tuple(np.array(row, dtype=np.int32).tobytes() for row in rows)


def _leftmost_longest(
    field: str, text: str, found: list[tuple[int, int, int, str]]
) -> list[Mention]:
    """Overlapping matches keep the longest; a word ending (Korean particles, `*`) does
    not hide a term that starts inside it (발사 and 탄도미사일 in 발사탄도미사일); the same
    span is a mention of each term it names once (two aliases of one term, Росси* and
    Российск*, are one mention).
    `found` holds (start, -end, end of the term without its ending, ref): sorted as they
    are, the leftmost come first and the longest of those first."""
    found.sort()
    mentions: list[Mention] = []
    taken_until, span_refs = -1, set()
    for start, negative_end, core_end, ref in found:
        end = -negative_end
        if start >= taken_until:
            taken_until, span_refs = core_end, {ref}
        elif mentions[-1].start == start and mentions[-1].end == end and ref not in span_refs:
            span_refs.add(ref)  # a shared alias: the span names another term too
        else:
            continue
        mentions.append(Mention(text[start:end], ref, field, start, end))
    return mentions


@cache
def _word_characters() -> np.ndarray:
    """Whether each code point of the basic plane is a word character (`\\w`: letters,
    digits, underscore), as a lookup table."""
    return np.array([chr(c).isalnum() or c == 0x5F for c in range(0x10000)], dtype=bool)


def phrase_ref(phrase: str) -> str:
    return "phrase:" + _lower(phrase.rstrip("*").strip())


class _Layout:
    """Sentence, paragraph and word positions of a text, computed when first needed.
    (Not by regex scans: on a 3,000-character article those cost 50-200 us each.)"""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def sentence_starts(self) -> list[int]:
        """0 and the end of each sentence break: the whitespace after . ! ? or 。 (all of
        it), or a run of line breaks."""
        text, size = self.text, len(self.text)
        starts, scanned = [0], 0
        for candidate in _SENTENCE_STOP.finditer(text):
            at = candidate.start()
            if at < scanned:
                continue  # inside the previous break
            end = at + 1
            if text[at] == "\n":
                while end < size and text[end] == "\n":
                    end += 1
            else:
                while end < size and text[end].isspace():
                    end += 1
                if end == at + 1:
                    continue  # a stop inside a word (3.5, U.S.)
            starts.append(end)
            scanned = end
        return starts

    @cached_property
    def paragraph_starts(self) -> list[int]:
        """0 and the end of each run of line breaks."""
        text, size = self.text, len(self.text)
        starts, at = [0], text.find("\n")
        while at != -1:
            end = at + 1
            while end < size and text[end] == "\n":
                end += 1
            starts.append(end)
            at = text.find("\n", end)
        return starts

    @cached_property
    def word_starts(self) -> list[int]:
        """Where each word (a run of `\\w` characters) starts, by a table lookup per code
        point."""
        points = np.frombuffer(self.text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        is_word = _word_characters().take(points, mode="clip")
        if len(points) and points.max() > 0xFFFF:  # beyond the table: rare
            for index in np.flatnonzero(points > 0xFFFF).tolist():
                is_word[index] = self.text[index].isalnum()
        starts = is_word.copy()
        starts[1:] &= ~is_word[:-1]
        return np.flatnonzero(starts).tolist()

    def unit_starts(self, kind: str) -> list[int]:
        return self.sentence_starts if kind == "sentence" else self.paragraph_starts

    def unit_span(self, kind: str, index: int) -> tuple[int, int]:
        """Where the index-th sentence or paragraph starts and ends."""
        starts = self.unit_starts(kind)
        end = starts[index + 1] if index + 1 < len(starts) else len(self.text)
        return starts[index], end

    @cached_property
    def lead_limits(self) -> tuple[int, int]:
        """(text length, end of the first paragraph, or -1 when there is only one): where
        a mention's weight changes (title, lead, body, late). The first paragraph break
        only, not all of them: every article needs this, few need the other breaks."""
        text = self.text
        end = text.find("\n")
        if end != -1:
            while end < len(text) and text[end] == "\n":
                end += 1
        return max(1, len(text)), end


class _Article:
    """One article's mentions by term, and what rules ask of them (a group's mentions,
    their weight, the sentences they are in), each computed once however many rules ask."""

    def __init__(self, title: str, text: str, mentions: list[Mention]) -> None:
        self.title = title
        # The title's mentions, then the text's, each in text order: the evidence order.
        self.mentions_found = mentions
        self.layout = _Layout(text)
        by_ref: dict[str, list[int]] = {}  # a term's mentions, as positions in the list
        weights: dict[str, float] = {}
        title_refs = set()
        size, first_paragraph_end = self.layout.lead_limits
        for position, mention in enumerate(mentions):  # ~100 an article: kept flat
            ref, start = mention.ref, mention.start
            if mention.field == "title":
                weight = TITLE_WEIGHT
                title_refs.add(ref)
            elif start / size < LEAD_SHARE or start < first_paragraph_end:
                weight = LEAD_WEIGHT
            else:
                late = start / size > LATE_SHARE and size >= LATE_MIN_CHARS
                weight = LATE_WEIGHT if late else BODY_WEIGHT
            if ref in by_ref:
                by_ref[ref].append(position)
                weights[ref] += weight
            else:
                by_ref[ref] = [position]
                weights[ref] = weight
        self.positions = by_ref
        self._ref_weights = weights
        self.present = frozenset(by_ref)
        self.title_refs = frozenset(title_refs)
        # Keyed by the identity of the Tagger's interned groups (they live as long as it).
        self._weights: dict[int, float] = {}
        self._units: dict[tuple[int, str], int] = {}
        self._term_units: dict[tuple[str, str], int] = {}
        self._unit_of: dict[str, list[int]] = {}
        self._text_positions: dict[str, list[int]] = {}

    def mention_count(self, refs: frozenset[str]) -> int:
        """How many mentions the terms have (each mention is of one term)."""
        positions = self.positions
        return sum(len(positions[ref]) for ref in refs & self.present)

    def weight(self, refs: frozenset[str]) -> float:
        total = self._weights.get(id(refs))
        if total is None:
            total = sum(self.ref_weight(ref) for ref in refs & self.present)
            self._weights[id(refs)] = total
        return total

    def ref_weight(self, ref: str) -> float:
        """The summed weights of one term's mentions."""
        return self._ref_weights.get(ref, 0.0)

    def units(self, refs: frozenset[str], kind: str) -> int:
        """The sentences or paragraphs of the text that mention `refs`, as a bit mask
        (bit i: the i-th one): a window test is then an `&` of integers."""
        key = (id(refs), kind)
        found = self._units.get(key)
        if found is None:
            found = 0
            for ref in refs & self.present:
                found |= self._ref_units(ref, kind)
            self._units[key] = found
        return found

    def _ref_units(self, ref: str, kind: str) -> int:
        """The same for one term: terms are shared by many groups, so worth remembering."""
        key = (ref, kind)
        found = self._term_units.get(key)
        if found is None:
            unit_of = self.unit_of(kind)
            found = 0
            for position in self.text_positions(ref):
                found |= 1 << unit_of[position]
            self._term_units[key] = found
        return found

    def text_positions(self, ref: str) -> list[int]:
        """Where the term's mentions in the text (not the title) are in the list."""
        found = self._text_positions.get(ref)
        if found is None:
            first_in_text = self._first_in_text
            found = [p for p in self.positions.get(ref, ()) if p >= first_in_text]
            self._text_positions[ref] = found
        return found

    def unit_of(self, kind: str) -> list[int]:
        """For each mention (by position in the list; the title's are left at 0): the
        index of its sentence, paragraph or word in the text."""
        found = self._unit_of.get(kind)
        if found is None:
            if _scan:  # all three kinds in one pass over the text
                self._unit_of.update(self._unit_indexes())
            else:
                layout = self.layout
                starts = layout.word_starts if kind == "word" else layout.unit_starts(kind)
                at = [mention.start for mention in self.mentions_found]
                self._unit_of[kind] = (np.searchsorted(starts, at, side="right") - 1).tolist()
            found = self._unit_of[kind]
        return found

    def _unit_indexes(self) -> dict[str, list[int]]:
        layout, in_title = self.layout, self._first_in_text
        at = [mention.start for mention in self.mentions_found[in_title:]]
        sentences, paragraphs, sentence_of, paragraph_of, word_of = _scan.layout(layout.text, at)
        layout.__dict__["sentence_starts"] = sentences  # what the cached properties give
        layout.__dict__["paragraph_starts"] = paragraphs
        title = [0] * in_title
        return {
            "sentence": title + sentence_of,
            "paragraph": title + paragraph_of,
            "word": title + word_of,
        }

    @cached_property
    def _first_in_text(self) -> int:
        """The title's mentions come first in the list."""
        found = self.mentions_found
        return next((p for p, m in enumerate(found) if m.field == "text"), len(found))


@dataclass(frozen=True)
class _Rule:
    topic: TopicConfig
    config: RuleConfig
    all_of: list[frozenset[str]]
    any_of: frozenset[str]
    none_of: frozenset[str]
    against: list[tuple[frozenset[str], float]]
    near: list[frozenset[str]]
    # The near groups that are not required ones: only these may be unmentioned on an
    # article that passed the cheap checks.
    near_unchecked: list[frozenset[str]]
    mentioned: frozenset[str]  # the terms of all required groups

    @property
    def required(self) -> list[frozenset[str]]:
        """Groups of which each must be mentioned."""
        return [*self.all_of, self.any_of] if self.any_of else self.all_of

    @property
    def scored(self) -> list[frozenset[str]]:
        """Groups whose weakest one gives the score."""
        return self.all_of or [self.any_of]


class _ScoreFilter:
    """Every rule's cheap checks at once: which required groups are mentioned, whether
    a vetoing one is, and the score against min_score, as array operations over the
    article's weight per group. Only the rules that pass go on to the costly checks
    (mentions, co-occurrence window, evidence): a rule that cannot hold costs a few array
    elements, not a Python call."""

    def __init__(self, rules: list[_Rule]) -> None:
        index: dict[frozenset[str], int] = {}

        def group_position(refs: frozenset[str]) -> int:
            return index.setdefault(refs, len(index))

        needed = [[group_position(refs) for refs in rule.required] for rule in rules]
        scored = [[group_position(refs) for refs in rule.scored] for rule in rules]
        vetoed = [[group_position(rule.none_of)] if rule.none_of else [] for rule in rules]
        against = [[group_position(refs) for refs, _ in rule.against] for rule in rules]
        self.groups = len(index)
        self.present_always, self.absent_always = self.groups, self.groups + 1
        self.needed = self._columns(needed, self.present_always)
        self.scored = self._columns(scored, self.present_always)
        self.vetoed = self._columns(vetoed, self.absent_always)
        self.against = self._columns(against, self.absent_always)
        factors = [[w for _, w in rule.against] for rule in rules]
        width = len(self.against)
        self.factors = [
            np.array([row[i] if i < len(row) else 0.0 for row in factors]) for i in range(width)
        ]
        self.min_score = np.array([rule.config.min_score for rule in rules], dtype=float)
        # Groups by term, as a sparse matrix (compressed rows): a group's weight is a sum
        # over its terms' weights, for all groups by one numpy call.
        refs = sorted({ref for group in index for ref in group})
        self.ref_index = {ref: position for position, ref in enumerate(refs)}
        nothing = len(refs)  # the column of an empty group: always 0
        columns: list[int] = []
        self.group_starts = np.zeros(self.groups, dtype=np.intp)
        for group, position in index.items():  # positions in insertion order
            self.group_starts[position] = len(columns)
            columns += sorted(self.ref_index[ref] for ref in group) or [nothing]
        self.columns = np.array(columns, dtype=np.intp)

    @staticmethod
    def _columns(rows: list[list[int]], pad: int) -> list[np.ndarray]:
        """The rules' groups of one kind as columns (the i-th group of every rule, padded):
        a few element-wise operations over contiguous arrays, faster than reducing along
        the rows of a matrix."""
        width = max((len(row) for row in rows), default=0) or 1
        return [np.array([row[i] if i < len(row) else pad for row in rows]) for i in range(width)]

    def passing(self, article: _Article) -> list[tuple[int, float]]:
        term_weights = np.zeros(len(self.ref_index) + 1)  # and the empty groups' column
        ref_index = self.ref_index
        for ref in article.present:
            position = ref_index.get(ref)
            if position is not None:
                term_weights[position] = article.ref_weight(ref)
        weights = np.empty(self.groups + 2)
        if self.groups:
            weights[: self.groups] = np.add.reduceat(term_weights[self.columns], self.group_starts)
        weights[self.present_always] = np.inf  # pads: ignored by all() and min()
        weights[self.absent_always] = 0.0
        mentioned = weights[self.needed[0]] > 0
        for column in self.needed[1:]:
            mentioned &= weights[column] > 0
        for column in self.vetoed:
            mentioned &= weights[column] == 0
        score = weights[self.scored[0]]  # a copy: indexing by an array
        for column in self.scored[1:]:
            np.minimum(score, weights[column], out=score)
        for column, factor in zip(self.against, self.factors, strict=True):
            score -= weights[column] * factor
        score = np.round(score, 2)
        passing = np.flatnonzero(mentioned & (score >= self.min_score))
        return list(zip(passing.tolist(), score[passing].tolist(), strict=True))


@dataclass(frozen=True)
class TagResult:
    tags: list[Tag]
    entities: list[EntityHit]


class Tagger:
    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self.matcher = Matcher(taxonomy)
        self._parents = {t.id: t.parent for t in taxonomy.topics if t.parent}
        self._groups: dict[str, frozenset[str]] = {}
        self._rules = [self._compile(t, r) for t in taxonomy.topics for r in t.rules()]
        self._filter = _ScoreFilter(self._rules)

    def _refs(self, term: str) -> frozenset[str]:
        """A group's (or entity's) terms: one object per group, shared by every rule, so
        an article computes what it needs of a group once."""
        refs = self._groups.get(term)
        if refs is None:
            group = self.taxonomy.groups.get(term)
            if group is None:
                refs = frozenset({term})  # an entity id
            else:
                refs = frozenset(group.entities) | {phrase_ref(p) for p in group.phrases}
            self._groups[term] = refs
        return refs

    def _compile(self, topic: TopicConfig, config: RuleConfig) -> _Rule:
        def union(terms: list[str]) -> frozenset[str]:
            return frozenset().union(*(self._refs(t) for t in terms)) if terms else frozenset()

        return _Rule(
            topic=topic,
            config=config,
            all_of=[self._refs(t) for t in config.all_of],
            any_of=union(config.any_of),
            none_of=union(config.none_of),
            against=[(self._refs(term), weight) for term, weight in config.against.items()],
            near=[self._refs(t) for t in config.near],
            near_unchecked=[self._refs(t) for t in config.near if t not in config.all_of],
            mentioned=union([*config.all_of, *config.any_of]),
        )

    def tag(self, title: str, text: str) -> list[Tag]:
        return self.analyze(title, text).tags

    def analyze(self, title: str | None, text: str) -> TagResult:
        article = self._read(title, text)
        tags = self._with_parents(self._best_tags(article))
        return TagResult(tags, self._entities(article))

    def why_not(self, title: str | None, text: str) -> dict[str, str]:
        """For each topic that is not tagged but has a term mentioned: why, rule by rule
        (`newsmon tag --explain`)."""
        article = self._read(title, text)
        tagged = {tag.topic for tag in self._with_parents(self._best_tags(article))}
        reasons: dict[str, list[str]] = {}
        for rule in self._rules:
            topic = rule.topic.id
            mentioned = any(not refs.isdisjoint(article.present) for refs in rule.required)
            if topic in tagged or not mentioned:
                continue
            reasons.setdefault(topic, []).append(_why_not(rule, article))
        return {topic: "; or ".join(why) for topic, why in reasons.items()}

    def _read(self, title: str | None, text: str) -> _Article:
        title = title or ""
        mentions = self.matcher.find("title", title) + self.matcher.find("text", text)
        return _Article(title, text, mentions)

    def _best_tags(self, article: _Article) -> list[Tag]:
        """Each topic's tag from its best-scoring rule that holds."""
        best: dict[str, Tag] = {}
        for position, score in self._candidates(article):
            rule = self._rules[position]
            topic = rule.topic.id
            if topic in best and best[topic].score >= score:
                continue  # a rule that cannot score higher cannot change the tag
            tag = _match(rule, article, score)
            if tag:
                best[topic] = tag
        return list(best.values())

    def _candidates(self, article: _Article) -> list[tuple[int, float]]:
        """The rules worth a full look (those passing the cheap checks) with their scores,
        in order."""
        return self._filter.passing(article)

    def _with_parents(self, tags: list[Tag]) -> list[Tag]:
        tagged = {tag.topic: tag for tag in tags}
        for tag in list(tags):
            parent = self._parents.get(tag.topic)
            while parent and parent not in tagged:
                tagged[parent] = Tag(parent, tag.score, tag.evidence, tag.window, via=tag.topic)
                parent = self._parents.get(parent)
        return sorted(tagged.values(), key=lambda t: (-t.score, t.via is not None, t.topic))

    def _entities(self, article: _Article) -> list[EntityHit]:
        """The entities mentioned, most mentioned first (ties: first mentioned first)."""
        entities = self.taxonomy.entities
        counts = [(ref, len(found)) for ref, found in article.positions.items() if ref in entities]
        counts.sort(key=lambda item: item[1], reverse=True)  # stable, as most_common
        hits = []
        for ref, count in counts:
            entity = entities[ref]
            hits.append(EntityHit(entity.id, entity.name, entity.type, count))
        return hits


class PlainTagger(Tagger):
    """The same tagger checking every rule in plain Python, without `_ScoreFilter`: the
    reference the filter is tested against and the baseline it is benchmarked against."""

    def _candidates(self, article: _Article) -> list[tuple[int, float]]:
        checked = enumerate(self._rules)
        return [(i, _score(r, article)) for i, r in checked if _passes_cheap_checks(r, article)]


def _match(rule: _Rule, article: _Article, score: float) -> Tag | None:
    """The rule's tag on an article where it passed the cheap checks with `score`
    (`_ScoreFilter`), or None: the costly checks."""
    # Every required group is mentioned, so one mention is always there.
    if rule.config.min_mentions > 1 and _mention_count(rule, article) < rule.config.min_mentions:
        return None
    window = None
    if rule.near:
        window = _meeting_window(rule, article)
        if window is None:
            return None
    return Tag(rule.topic.id, score, _evidence(rule, article), window)


def _evidence(rule: _Rule, article: _Article) -> list[Mention]:
    """The mentions of the rule's required groups, the title's first, then in text order
    (the order they were found in)."""
    positions: list[int] = []
    for ref in rule.mentioned & article.present:
        positions += article.positions[ref]
    positions.sort()
    found = article.mentions_found
    return [found[position] for position in positions[:MAX_EVIDENCE]]


def _mention_count(rule: _Rule, article: _Article) -> int:
    """Mentions of the rule's required groups (one mention in two groups counts once)."""
    return article.mention_count(rule.mentioned)


def _passes_cheap_checks(rule: _Rule, article: _Article) -> bool:
    """What `_ScoreFilter` checks for every rule at once, for one rule in plain Python
    (how the filter is tested)."""
    present = article.present
    if not rule.none_of.isdisjoint(present):
        return False
    if any(refs.isdisjoint(present) for refs in rule.required):
        return False
    return _score(rule, article) >= rule.config.min_score


def _score(rule: _Rule, article: _Article) -> float:
    """The weakest group decides: a topic is only as present as its least-mentioned
    part, so an incidental late mention of one side cannot ride on the other's; less the
    weighted mentions of the `against` terms."""
    score = min(article.weight(refs) for refs in rule.scored)
    for refs, factor in rule.against:
        score -= factor * article.weight(refs)
    return round(score, 2)


def _why_not(rule: _Rule, article: _Article) -> str:
    """The first check of `_match` that the rule fails on the article, in words."""
    config, present = rule.config, article.present
    if not rule.none_of.isdisjoint(present):
        return f"vetoed by {' / '.join(config.none_of)}"
    pairs = zip(config.all_of, rule.all_of, strict=True)
    missing = [name for name, refs in pairs if refs.isdisjoint(present)]
    if missing:
        return f"no mention of {', '.join(missing)}"
    if rule.any_of and rule.any_of.isdisjoint(present):
        return f"no mention of any of {', '.join(config.any_of)}"
    score = _score(rule, article)
    if score < config.min_score:
        names = config.all_of or [" / ".join(config.any_of)]
        weights = [article.weight(refs) for refs in rule.scored]
        weakest = min(range(len(weights)), key=weights.__getitem__)
        against = sum(factor * article.weight(refs) for refs, factor in rule.against)
        less = f", less {against:g} for {', '.join(config.against)}" if against else ""
        return (
            f"score {score:g} < {config.min_score:g} ({names[weakest]} {weights[weakest]:g}{less})"
        )
    mentions = _mention_count(rule, article)
    if mentions < config.min_mentions:
        return f"{mentions} mentions < {config.min_mentions}"
    where = config.window if isinstance(config.window, str) else f"{config.window} words"
    return f"{' and '.join(config.near)} never within one {where}"


def _meeting_window(rule: _Rule, article: _Article) -> str | None:
    """The first title/sentence/paragraph/N-word span holding a mention of every near term."""
    if any(refs.isdisjoint(article.present) for refs in rule.near_unchecked):
        return None
    if not any(refs.isdisjoint(article.title_refs) for refs in rule.near):
        return article.title
    window = rule.config.window
    if isinstance(window, int):
        present = article.present
        groups = [
            [p for ref in refs & present for p in article.text_positions(ref)] for refs in rule.near
        ]
        return _word_window(groups, article, window)
    shared = -1  # every bit set
    for refs in rule.near:
        shared &= article.units(refs, window)
    if not shared:
        return None
    first = (shared & -shared).bit_length() - 1  # the lowest bit set
    start, end = article.layout.unit_span(window, first)
    return article.layout.text[start:end].strip()[:MAX_WINDOW_CHARS]


def _word_window(groups: list[list[int]], article: _Article, size: int) -> str | None:
    """The first span of at most `size` words holding a mention of each group (the
    groups' text mentions, as positions in the article's list)."""
    word_of = article.unit_of("word")
    tagged = sorted(
        (word_of[p], group, p) for group, positions in enumerate(groups) for p in positions
    )
    found = article.mentions_found
    for at, (first_word, _, first) in enumerate(tagged):
        seen: dict[int, int] = {}
        for word, group, position in tagged[at:]:
            if word - first_word > size:
                break
            seen.setdefault(group, position)
            if len(seen) == len(groups):
                end = max(found[p].end for p in seen.values())
                return article.layout.text[found[first].start : end][:MAX_WINDOW_CHARS]
    return None


def tag_article(tagger: Tagger, article: Article, fetched_at: datetime) -> TaggedArticle:
    result = tagger.analyze(article.title, article.text)
    return TaggedArticle(article, result.tags, fetched_at, result.entities)
