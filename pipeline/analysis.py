"""Language analysis for search, in Python, the same at index and at query time.

Elasticsearch's `standard` analyzer matches exact word forms only, and the clusters
newsmon runs on may have no language plugins at all. So each article also carries
`title_stems` and `text_stems`: its words in analysed form, one after another,
separated by spaces, indexed with the plain `whitespace` analyzer (positions kept, so
phrases work there too):

- Latin-script words: the Snowball stem in the article's language (English when
  Snowball has no stemmer for it), prefixed with the language: `en_missil`, so a stem
  only ever matches articles stemmed by the same language's rules. English irregular
  forms are stemmed as their dictionary form (`stole` as `steal`, `men` as `man`).
- Cyrillic words: the Russian dictionary form (lemma) by pymorphy3's OpenCorpora
  dictionary (`ракета` for ракета, ракеты, ракетой; `уголь` for угля), so a verb
  stays apart from its noun (`договорились` is `договориться`, not `договор`).
- Hangul: the content morphemes found by Kiwi, particles and endings dropped
  (`북한이` -> `북한`, `순항미사일을` -> `순항 미사일`, `발사했다` -> `발사`).
- Han and kana are left to the exact fields (the standard analyzer indexes each
  character, which phrase search handles).

A query word is analysed for every language its script allows (see `word_forms`),
and the search matches the exact form OR any analysed form.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from functools import cache, lru_cache
from typing import Any, TypedDict

import Stemmer

from pipeline.english_irregular import FORMS as ENGLISH_FORMS
from pipeline.english_irregular import IRREGULAR as ENGLISH_IRREGULAR

# Languages (ISO 639-1, as py3langid names them) with a Snowball stemmer for Latin script.
LATIN_STEMMERS = {
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "en": "english",
    "es": "spanish",
    "et": "estonian",
    "eu": "basque",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hu": "hungarian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "nl": "dutch",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "sv": "swedish",
    "tr": "turkish",
}
DEFAULT_LATIN = "en"

_WORD = re.compile(r"[^\W_]+")
_HANGUL = re.compile("[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_LATIN = re.compile("[a-zA-Z\u00c0-\u024f]")
_HAN_OR_KANA = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Kiwi's tags for what carries meaning: nouns, numerals, pronouns, verb and adjective
# stems, roots, foreign words, numbers. Particles (J*), endings (E*) and suffixes go.
_KOREAN_CONTENT = {"NNG", "NNP", "NNB", "NR", "NP", "VV", "VA", "XR", "SL", "SH", "SN", "MAG"}
_KOREAN_NOUN_SUFFIXES = {"군", "측"}
MAX_HIGHLIGHT_FORMS = 40  # of a Russian word's inflected forms, marked in snippets

_stemmers_lock = threading.Lock()
_kiwi: Any = None
_kiwi_lock = threading.Lock()
_morph: Any = None
_morph_lock = threading.Lock()


@cache
def _stemmer(algorithm: str) -> Any:
    # PyStemmer objects are not thread-safe: one per thread would do, but a lock is
    # simpler and stemming is far cheaper than the rest of the work.
    return Stemmer.Stemmer(algorithm)


def _stem(algorithm: str, word: str) -> str:
    with _stemmers_lock:
        return str(_stemmer(algorithm).stemWord(word))


def kiwi() -> Any:
    """The Korean analyzer, loaded on first use (a few seconds and ~100 MB: only texts
    with Hangul need it). Callers hold `_kiwi_lock`."""
    global _kiwi
    if _kiwi is None:
        from kiwipiepy import Kiwi

        _kiwi = Kiwi()
    return _kiwi


def morph() -> Any:
    """The Russian morphological analyzer, loaded on first use (~0.2 s, ~20 MB).
    Callers hold `_morph_lock`."""
    global _morph
    if _morph is None:
        import pymorphy3

        _morph = pymorphy3.MorphAnalyzer()
    return _morph


def latin_language(language: str | None) -> str:
    return language if language in LATIN_STEMMERS else DEFAULT_LATIN


def analyze(text: str, language: str | None) -> str:
    """The text's analysed forms, space-separated, in order (what `*_stems` hold)."""
    latin = latin_language(language)
    forms: list[str] = []
    for word in words(text):
        forms.extend(_analysed(word, latin))
    return " ".join(forms)


@lru_cache(maxsize=200_000)
def _analysed(word: str, latin: str) -> tuple[str, ...]:
    """One word's analysed forms. Remembered: news repeats its words, and the script
    checks and stemming cost ~6 us a word (7 % of the ingest workers' time in a profile
    of scripts/bench_ingest.py's workload; 4.2 -> 1.1 ms an English article)."""
    if _HANGUL.search(word):
        return _korean_word(word)
    form = _form(word, latin)
    return (form,) if form else ()


class StemFields(TypedDict):
    title_stems: str
    text_stems: str


def stem_fields(title: str, text: str, language: str | None) -> StemFields:
    """An article's `title_stems` and `text_stems`."""
    return {"title_stems": analyze(title, language), "text_stems": analyze(text, language)}


def _form(word: str, latin: str) -> str | None:
    """One non-Korean word's analysed form (None for Han and kana)."""
    if _HAN_OR_KANA.search(word):
        return None
    if _CYRILLIC.search(word):
        return _russian_lemma(word)
    if _LATIN.search(word):
        return _latin_form(latin, word)
    return word  # digits, other scripts: as they are


def _latin_form(code: str, word: str) -> str:
    if code == "en":
        word = ENGLISH_IRREGULAR.get(word, word)
    return f"{code}_{_stem(LATIN_STEMMERS[code], word)}"


@lru_cache(maxsize=200_000)
def _russian_lemma(word: str) -> str:
    """The most likely dictionary form of a Russian word (ё written е, as news often
    does). Remembered: each parse costs ~0.1 ms."""
    with _morph_lock:
        lemma = morph().parse(word)[0].normal_form
    return str(lemma).replace("ё", "е")


@lru_cache(maxsize=200_000)
def _korean_word(word: str) -> tuple[str, ...]:
    """A Hangul word's content morphemes. Each word is analysed on its own (and
    remembered: news repeats its words), which is several times cheaper than Kiwi on
    whole sentences and analyses a word in an article exactly as in a query."""
    with _kiwi_lock:
        tokens = kiwi().tokenize(word)
    forms: list[str] = []
    for token in tokens:
        if token.tag in _KOREAN_CONTENT and _HANGUL.search(token.form):
            forms.extend(_korean_compound(token.form.lower()))
    return tuple(forms)


def _korean_compound(noun: str) -> list[str]:
    """Kiwi keeps some compounds of a name and 군 (army, county) or 측 (side) whole:
    `북한군`, `러시아군`, `북한측`. Split them so the name finds them, as `순항미사일`
    is found by `미사일`; two-syllable words (`해군`, `장군`) stay whole."""
    if len(noun) >= 3 and noun[-1] in _KOREAN_NOUN_SUFFIXES:
        return [noun[:-1], noun[-1]]
    return [noun]


def word_forms(word: str, latin: Iterable[str] | None = None) -> list[str]:
    """Every analysed form a query word may have in an article: the stem in each
    Latin-script language of `latin` (default: every one Snowball has; the article's
    language is not known), a Russian word's lemma, or a Korean word's content
    morphemes (joined by spaces: they follow one another in the article). Empty when
    the word analyses to nothing."""
    word = word.lower()
    if _HANGUL.search(word):
        forms = " ".join(_korean_word(word))
        return [forms] if forms else []
    if _HAN_OR_KANA.search(word):
        return []
    if _CYRILLIC.search(word):
        return [_russian_lemma(word)]
    if _LATIN.search(word):
        return [_latin_form(code, word) for code in _codes(latin)]
    return [word]


def _codes(latin: Iterable[str] | None) -> list[str]:
    if latin is None:
        return list(LATIN_STEMMERS)
    return sorted({code for code in latin if code in LATIN_STEMMERS} | {DEFAULT_LATIN})


def phrase_forms(words: list[str], latin: Iterable[str] | None = None) -> list[str]:
    """A phrase's analysed forms: one per Latin-script language (every word stemmed by
    that language's rules), Cyrillic and Korean words analysed as `word_forms` does."""
    if not words:
        return []
    latin_words = any(_LATIN.search(w) and not _CYRILLIC.search(w) for w in words)
    codes = _codes(latin) if latin_words else [DEFAULT_LATIN]
    phrases: set[str] = set()
    for code in codes:
        parts: list[str] = []
        for word in words:
            lower = word.lower()
            if _LATIN.search(lower) and not (_HANGUL.search(lower) or _CYRILLIC.search(lower)):
                parts.append(_latin_form(code, lower))
            else:
                parts.extend(word_forms(lower))  # one form, or none (Han, kana)
        if parts:
            phrases.add(" ".join(parts))
    return sorted(phrases)


def words(text: str) -> list[str]:
    """The words of a query or text, lower-cased, as `analyze` splits them."""
    return [match.lower() for match in _WORD.findall(text)]


def is_hangul(text: str) -> bool:
    return bool(_HANGUL.search(text))


def highlight_stems(word: str) -> list[str]:
    """Prefixes or Korean morphemes that mark the words of a text sharing an analysed
    form with the query word, for the snippets only (Latin script: the English stem and
    irregular forms, as other languages' stems can be short enough to mark unrelated
    words; Cyrillic: the inflected forms of the word's lemma)."""
    word = word.lower()
    if _HANGUL.search(word):
        return [form for form in _korean_word(word) if is_hangul(form) or len(form) >= 3]
    if _CYRILLIC.search(word):
        return _russian_forms(word)
    if _LATIN.search(word):
        lemma = ENGLISH_IRREGULAR.get(word, word)
        stem = _stem(LATIN_STEMMERS[DEFAULT_LATIN], lemma)
        forms = {stem, *ENGLISH_FORMS.get(lemma, ())}
        return sorted(f for f in forms if len(f) >= 3)
    return []


@lru_cache(maxsize=10_000)
def _russian_forms(word: str) -> list[str]:
    """The inflected forms of a Russian word's lemma (a bounded number of them)."""
    with _morph_lock:
        lexeme = morph().parse(word)[0].lexeme
    return sorted({str(form.word) for form in lexeme})[:MAX_HIGHLIGHT_FORMS]
