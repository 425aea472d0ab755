"""Fuzzy name matching by toneless pinyin: speech recognisers' homophones resolve to the gazetteer's names."""

from __future__ import annotations

import pytest

from ticketing.geo.demo import demo_gazetteer
from ticketing.geo.domain.address import parse
from ticketing.geo.domain.pinyin import NameMatcher, pick, syllables, variants

HEARD = [("海边东路", "海滨东路"), ("早元东路", "枣园东路"), ("陈北西路", "城北西路"), ("五元大道", "武原大道"),
         ("常安路", "长安路"), ("潮阳东路", "朝阳东路"), ("言湖路", "盐湖路"), ("南堂路", "南塘路")]


@pytest.mark.parametrize(("heard", "road"), HEARD)
def test_misheard_roads_resolve_to_the_gazetteer(heard: str, road: str) -> None:
    p = parse(f"{heard}有个井盖坏了", demo_gazetteer().lexicon)
    assert [m.key for m in p.roads][:1] == [road]
    assert p.roads[0].score < 1.0 and p.roads[0].surface == heard


def test_folding_makes_retroflex_and_nasal_confusions_equal() -> None:
    assert syllables("城") == syllables("陈")  # cheng / chen
    assert syllables("山") == syllables("三")  # shan / san
    assert syllables("南") == syllables("兰")  # nan / lan


def test_heteronyms_have_both_spellings() -> None:
    assert len(variants("朝阳东路")) == 2  # chao-yang and zhao-yang


def test_unrelated_words_do_not_match() -> None:
    matcher = NameMatcher("road", [("海滨东路", "海滨东路"), ("长安路", "长安路")])
    text = "门口的路灯坏了好几天"
    taken = [False] * len(text)
    assert pick(matcher.find(text, syllables(text), taken), taken) == []


def test_exact_names_win_over_similar_ones() -> None:
    p = parse("海滨中路", demo_gazetteer().lexicon)
    assert [m.key for m in p.roads] == ["海滨中路"] and p.roads[0].score == 1.0


def test_two_character_names_need_identical_pinyin() -> None:
    lexicon = demo_gazetteer().lexicon
    assert [m.key for m in parse("七园门口", lexicon).places] == ["绮园"]  # qi-yuan
    assert parse("西园门口", lexicon).places == ()  # xi-yuan
