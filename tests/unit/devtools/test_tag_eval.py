from __future__ import annotations

from pipeline.devtools.tag_eval import TopicScore, language_of, micro


def test_language_from_the_field_or_the_script() -> None:
    assert language_of({"text": "Пхеньян", "language": "xx"}) == "xx"
    assert language_of({"title": "북한", "text": "KCNA"}) == "ko"
    assert language_of({"text": "Пхеньян и Сеул"}) == "ru"
    assert language_of({"text": "Pyongyang"}) == "en"


def test_micro_pools_every_topic() -> None:
    total = micro({"a": TopicScore(tp=3, fp=1), "b": TopicScore(tp=1, fn=3)})
    assert (total.tp, total.fp, total.fn) == (4, 1, 3)
    assert total.precision == 0.8 and total.recall == 4 / 7
