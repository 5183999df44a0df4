"""Realistic near-duplicate variants of a story, for measuring the dedup stage.

Each variant is what syndication does to a wire story: light edits, truncation,
a new headline and site boilerplate, an attribution line, reordered paragraphs,
or a teaser excerpt. Deterministic for a given seed.
"""

from __future__ import annotations

import random
import re

BOILERPLATE_TOP = "By Staff Writer | Updated 3 hours ago | 4 min read"
BOILERPLATE_BOTTOM = (
    "Subscribe to our free morning newsletter to get the day's top stories in your inbox. "
    "Follow us on social media for breaking news and analysis."
)
SYNONYMS = {
    "said": "stated",
    "says": "states",
    "told": "informed",
    "after": "following",
    "about": "around",
    "new": "latest",
    "country": "nation",
    "also": "additionally",
    "officials": "authorities",
    "launched": "fired",
    "meeting": "talks",
    "leader": "head",
}


def _paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n") if p.strip()]


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.replace("\n", " ")) if s]


def edited(text: str, rng: random.Random) -> str:
    """Synonyms swapped in, one sentence dropped: a copy-editor's pass."""
    words = text.split(" ")
    words = [SYNONYMS.get(w, w) if rng.random() < 0.7 else w for w in words]
    sentences = _sentences(" ".join(words))
    if len(sentences) > 4:
        sentences.pop(rng.randrange(1, len(sentences)))
    return " ".join(sentences)


def truncated(text: str, rng: random.Random) -> str:
    sentences = _sentences(text)
    keep = max(3, int(len(sentences) * rng.uniform(0.5, 0.7)))
    return " ".join(sentences[:keep])


def reheadlined(text: str, rng: random.Random) -> str:
    return f"{BOILERPLATE_TOP}\n{text}\n{BOILERPLATE_BOTTOM}"


def attributed(text: str, rng: random.Random) -> str:
    source = rng.choice(["Yonhap", "Hindustan Times", "Reuters", "TASS"])
    return f"{text}\nOriginal Source: {source}"


def reordered(text: str, rng: random.Random) -> str:
    """Paragraphs reordered after the lead, as rewrites from the same facts tend to be."""
    paragraphs = _paragraphs(text)
    rest = paragraphs[1:]
    rng.shuffle(rest)
    return "\n".join(paragraphs[:1] + rest)


def excerpt(text: str, rng: random.Random) -> str:
    """A teaser: the first sentences and a link back."""
    sentences = _sentences(text)
    return (
        " ".join(sentences[: max(3, len(sentences) // 3)]) + " Read the full story at the source."
    )


VARIANTS = {
    "edited": edited,
    "truncated": truncated,
    "reheadlined": reheadlined,
    "attributed": attributed,
    "reordered": reordered,
    "excerpt": excerpt,
}


def variants(text: str, seed: int = 0) -> dict[str, str]:
    rng = random.Random(seed)
    return {name: make(text, rng) for name, make in VARIANTS.items()}
