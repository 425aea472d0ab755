"""Suggesting small class and road from transcripts, including Whisper's homophone errors (notes/speech.md)."""

from pathlib import Path

import pytest

from transcribe.lexicon import SmallClass, build_lexicon, load_categories, load_road_names, load_synonyms
from transcribe.phonetic import char_similarity, find
from transcribe.suggest import Understander
from transcribe.understand import find_roads, mask_spans, match_choice, suggest_classes, summarize

ROOT = Path(__file__).resolve().parents[2]
CATEGORIES = ROOT / "config" / "data" / "categories.yaml"
ROADS = ROOT / "config" / "data" / "haiyan" / "roads.geojson"
ANSWERS = ["是的", "不是", "满意", "不满意", "转人工"]


@pytest.fixture(scope="module")
def lexicon():  # type: ignore[no-untyped-def]
    return build_lexicon(load_categories(CATEGORIES), load_synonyms())


@pytest.fixture(scope="module")
def roads() -> list[str]:
    return load_road_names(ROADS)


def test_category_codes_carry_the_type_digit() -> None:
    classes = {c.name: c.code for c in load_categories(CATEGORIES)}
    assert classes["路灯"] == "10118"
    assert classes["私搭乱建"] == "20101"


@pytest.mark.parametrize(
    ("heard", "meant"),
    [("似大乱见", "私搭乱建"), ("紧盖", "井盖"), ("站停", "站亭"), ("海边东路", "海滨东路"),
     ("早元东路", "枣园东路"), ("陈北西路", "城北西路"), ("五元大道", "武原大道")],
)
def test_homophones_from_whisper_sound_like_the_intended_words(heard: str, meant: str) -> None:
    hit = find(meant, f"有人说{heard}那里", threshold=0.8)
    assert hit is not None and hit.heard == heard


def test_unrelated_characters_do_not_sound_alike() -> None:
    assert char_similarity("灯", "都") < 0.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("长安路那边有人似大乱见，在院子里盖了一间房。", "私搭乱建"),
        ("五元大道公交站的站停玻璃碎了。", "公交站亭"),
        ("我要反映一下，海边东路120号门口的路灯不亮了。", "路灯"),
        ("周洋东路上有一堆垃圾好几天没人清理了。", "暴露垃圾"),
        ("我家楼下的工地晚上11点还在施工，造医药名。", "施工扰民"),
        ("新乔北路的人行到上到处贴这小广告。", "非法小广告"),
        ("刑检路有了废气的汽车停了半年了。", "废弃车辆"),
        ("喜言旁边的小区门口有言论摆摊。这样到经营。", "占道经营"),
        ("城北西路的下水道堵了，路面前是鸡水。", "道路积水"),
        ("新乔北路的人行到上到处贴这小广杆。", "非法小广告"),  # 杆 gan ≈ 告 gao: a mean of exactly 0.8
    ],
)
def test_small_class_is_suggested_from_a_misheard_complaint(lexicon, text: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    best = suggest_classes(text, lexicon)[0]
    assert best.name == expected
    assert 0 < best.confidence < 1


def test_manhole_cover_suggests_manhole_classes_for_the_agent_to_pick(lexicon) -> None:  # type: ignore[no-untyped-def]
    found = suggest_classes("路口有个紧盖丢了，很危险。", lexicon)
    assert all("井盖" in s.name for s in found)
    assert found[0].code.startswith("101")


@pytest.mark.parametrize("text", ["早元东路和城北西路焦插口有个警战丢了。很危险。", "路口有个东西坏了"])
def test_everyday_words_do_not_sound_like_a_class_by_their_rare_readings(lexicon, text: str) -> None:  # type: ignore[no-untyped-def]
    # 有 can be read wei and 个 gan in the dictionary: 有个 must not be heard as 立杆 (li gan)
    assert "立杆" not in {s.name for s in suggest_classes(text, lexicon)}


def test_nothing_is_suggested_for_small_talk(lexicon) -> None:  # type: ignore[no-untyped-def]
    assert suggest_classes("你好，请问今天几点下班？", lexicon) == []


def test_synonyms_for_unknown_classes_are_skipped() -> None:
    lexicon = build_lexicon([SmallClass("10118", "路灯", "component")], load_synonyms())
    assert {code for t in lexicon.terms for code in t.codes} == {"10118"}


def test_roads_are_found_by_sound_in_spoken_order_with_house_number(roads: list[str]) -> None:
    found = find_roads("早元东路和陈北西路交叉口，海边东路120号", roads)
    assert [m.road for m in found] == ["枣园东路", "城北西路", "海滨东路"]
    assert found[2].house_number == "120"
    assert found[2].address == "海滨东路120号"


def test_a_mention_spans_its_road_and_house_number(roads: list[str]) -> None:
    text = "海边东路120号门口，城北西路的下水道"
    first, second = find_roads(text, roads)
    assert text[slice(*first.span)] == "海边东路120号"
    assert text[slice(*second.span)] == "城北西路"
    assert mask_spans(text, [first.span]) == "□□□□□□□□门口，城北西路的下水道"


@pytest.mark.parametrize("text", ["城北西路的下水道堵了，路面前是鸡水。", "新乔北路的人行到上到处贴这小广告。",
                                  "新乔北路的人行到上到处贴这小广杆。"])
async def test_no_class_is_heard_inside_a_road_name(lexicon, roads: list[str], text: str) -> None:  # type: ignore[no-untyped-def]
    # 路的 after a road's name sounds like 绿地 (lu de, with 地 read as the particle): it is the road
    assert "绿地" in {s.name for s in suggest_classes(text, lexicon)}
    understood = await Understander(lexicon, roads).understand(text)
    assert "绿地" not in {s.name for s in understood.classes}
    spans = [r.span for r in find_roads(text, roads)]
    assert "绿地" not in {s.name for s in suggest_classes(text, lexicon, explained=spans)}


async def test_a_class_named_right_after_a_road_is_still_heard(lexicon, roads: list[str]) -> None:  # type: ignore[no-untyped-def]
    understood = await Understander(lexicon, roads).understand("海滨东路路灯坏了，绿地上全是垃圾")
    assert understood.place is not None and understood.place.road == "海滨东路"
    assert {"路灯", "绿地"} <= {s.name for s in understood.classes}


def test_a_road_needs_its_suffix_to_be_heard(roads: list[str]) -> None:
    assert find_roads("长安那边有人摆摊", roads) == []


@pytest.mark.parametrize(
    ("heard", "option"),
    [("是的。", "是的"), ("不是", "不是"), ("满意", "满意"), ("不满意。", "不满意"), ("转人工", "转人工"),
     ("嗯，不满意", "不满意"), ("在人工", "转人工")],
)
def test_short_answers_match_their_closed_set(heard: str, option: str) -> None:
    assert match_choice(heard, ANSWERS) is not None
    assert match_choice(heard, ANSWERS)[0] == option  # type: ignore[index]


def test_an_answer_outside_the_set_matches_nothing() -> None:
    assert match_choice("我要投诉噪音", ANSWERS) is None


def test_summary_is_one_short_line() -> None:
    said = "我要反映一下，海滨东路120号门口的路灯坏了，晚上一片漆黑，已经好几天了，很危险。"
    line = summarize(said, None, "海滨东路120号")
    assert line.startswith("海滨东路120号：")
    assert "\n" not in line and len(line) <= 60
