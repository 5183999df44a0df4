"""Commands on single articles and tags: `extract`, `tag`, `retag`, `eval-tags`."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pipeline.cli.output import EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, elasticsearch, print_json
from pipeline.config import Settings, load_settings, load_topics
from pipeline.errors import FetchError, NewsmonError


def register(commands: Any) -> None:
    extract = commands.add_parser("extract", help="extract one article from a URL or HTML file")
    extract.add_argument("source", help="http(s) URL or path to an HTML file")
    extract.set_defaults(handler=extract_command)

    tag = commands.add_parser("tag", help='tag {"title":..., "text":...} JSON read on stdin')
    tag.add_argument("--explain", action="store_true", help="readable tags with their evidence")
    tag.set_defaults(handler=tag_command)

    retag = commands.add_parser(
        "retag", help="re-tag indexed articles after topics.yaml changes (nothing is fetched again)"
    )
    retag.set_defaults(handler=retag_command)

    eval_tags = commands.add_parser(
        "eval-tags", help="precision/recall/F1 per topic on a labelled JSONL set"
    )
    eval_tags.add_argument("file", type=Path)
    eval_tags.add_argument(
        "--scores-only",
        action="store_true",
        help="no article ids of the errors (for a set kept apart from tuning)",
    )
    eval_tags.set_defaults(handler=eval_tags_command)


def extract_command(args: argparse.Namespace) -> int:
    from pipeline.ingest.dedup import fingerprint
    from pipeline.ingest.extract import extract

    settings = load_settings()
    html, url = _read_page(args.source, settings)
    extraction = extract(html, url)
    if extraction.article is None:
        raise NewsmonError(f"{args.source}: {extraction.problem}")
    article = fingerprint(extraction.article)
    if args.json:
        data = asdict(article)
        data["fingerprint"] = {"content_hash": data["fingerprint"]["content_hash"]}
        print_json(data)
    else:
        print(
            f"{article.title}\n{article.site} | {article.published_at} | "
            f"{', '.join(article.authors)} | {article.language} | text: {article.text_source}"
            f"\n\n{article.text}"
        )
    return EXIT_OK


def _read_page(source: str, settings: Settings) -> tuple[bytes, str]:
    """The page's bytes and URL, from the web or from a file."""
    from pipeline.ingest.download import fetch, make_client

    if source.startswith(("http://", "https://")):
        with make_client(settings) as client:
            try:
                response = fetch(
                    client,
                    source,
                    max_bytes=settings.max_page_bytes,
                    allow_private=settings.allow_private_networks,
                )
            except FetchError as exc:
                raise NewsmonError(f"cannot fetch: {exc}") from None
        return response.body, response.final_url
    path = Path(source)
    if not path.is_file():
        raise NewsmonError(f"{source}: no such file")
    return path.read_bytes(), path.resolve().as_uri()


def tag_command(args: argparse.Namespace) -> int:
    from pipeline.ingest.tag import Tagger

    settings = load_settings()
    try:
        data = json.load(sys.stdin)
    except json.JSONDecodeError as exc:
        print(f"newsmon: stdin is not JSON: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        print('newsmon: expected {"title": "...", "text": "..."} on stdin', file=sys.stderr)
        return EXIT_CONFIG
    title = data.get("title") if isinstance(data.get("title"), str) else None
    tagger = Tagger(load_topics(settings))
    result = tagger.analyze(title, data["text"])
    if not args.explain:
        print_json(
            {
                "tags": [asdict(t) for t in result.tags],
                "entities": [asdict(e) for e in result.entities],
            }
        )
        return EXIT_OK
    if not result.tags:
        print("no topics")
    for tag in result.tags:
        via = f" (via {tag.via})" if tag.via else ""
        print(f"{tag.topic}  score {tag.score:g}{via}")
        if tag.window and not tag.via:
            print(f"  where: {tag.window}")
        if not tag.via:
            print(
                "  matched: "
                + ", ".join(f"{m.term} [{m.field} {m.start}-{m.end}]" for m in tag.evidence)
            )
    for topic, why in tagger.why_not(title, data["text"]).items():
        print(f"not {topic}: {why}")
    if result.entities:
        print(
            "entities: " + ", ".join(f"{e.name} ({e.type}, {e.mentions})" for e in result.entities)
        )
    return EXIT_OK


def retag_command(args: argparse.Namespace) -> int:
    from pipeline.ingest.retag import RetagSummary, retag
    from pipeline.ingest.tag import Tagger

    settings = load_settings()
    tagger = Tagger(load_topics(settings))
    es = elasticsearch(settings, setup=False)

    def progress(summary: RetagSummary, expected: int) -> None:
        print(f"  {summary.total}/{expected} articles, {summary.updated} updated", file=sys.stderr)

    summary = retag(es, settings, tagger, progress=None if args.json else progress)
    if args.json:
        print_json(asdict(summary))
    else:
        print(
            f"retagged {summary.total} articles: {summary.updated} updated, "
            f"{summary.unchanged} unchanged, {len(summary.errors)} errors"
        )
        for error in summary.errors[:10]:
            print(f"  {error}", file=sys.stderr)
    return EXIT_FAILURE if summary.errors else EXIT_OK


def eval_tags_command(args: argparse.Namespace) -> int:
    from pipeline.devtools.tag_eval import by_language, evaluate, load_labelled, micro, report
    from pipeline.ingest.tag import Tagger

    settings = load_settings()
    if not args.file.is_file():
        raise NewsmonError(f"{args.file}: no such file")
    items = load_labelled(args.file)
    tagger = Tagger(load_topics(settings))
    scores, languages = evaluate(tagger, items), by_language(tagger, items)
    if args.json:
        result = report(scores, languages, ids=not args.scores_only)
        print_json({"articles": len(items), **result})
        return EXIT_OK
    print(f"{len(items)} labelled articles from {args.file}")
    print(f"{'topic':<26}{'precision':>10}{'recall':>8}{'F1':>7}{'support':>9}")
    for topic, s in [*scores.items(), ("(micro)", micro(scores))]:
        print(f"{topic:<26}{s.precision:>10.3f}{s.recall:>8.3f}{s.f1:>7.3f}{s.support:>9}")
        for label, ids in (("false +", s.false_positives), ("missed", s.false_negatives)):
            if ids and not args.scores_only:
                print(f"    {label}: {', '.join(ids)}")
    for language, per_topic in languages.items():
        total = micro(per_topic)
        weakest = min(per_topic.items(), key=lambda item: min(item[1].precision, item[1].recall))
        print(
            f"{language}: micro P {total.precision:.3f} R {total.recall:.3f}"
            f" ({total.support} labels); weakest {weakest[0]}"
            f" P {weakest[1].precision:.3f} R {weakest[1].recall:.3f}"
        )
    return EXIT_OK
