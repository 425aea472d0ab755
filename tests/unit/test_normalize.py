"""Normalisation of recogniser output: spaces, script, numbers."""

import pytest

from transcribe.normalize import (
    cut_runaway_repetition,
    normalize,
    numerals_to_digits,
    remove_word_spaces,
    to_simplified,
)


def test_vosk_word_spaces_are_removed_between_chinese_words() -> None:
    assert remove_word_spaces("我 要 反映 一下 海滨 东路") == "我要反映一下海滨东路"


def test_spaces_inside_latin_text_are_kept() -> None:
    assert remove_word_spaces("ok google 你好") == "ok google 你好"


def test_traditional_characters_become_simplified() -> None:
    assert to_simplified("這個路燈壞了，路面積水") == "这个路灯坏了，路面积水"


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("海滨东路一百二十号", "海滨东路120号"),
        ("三号楼二单元五零二室", "3号楼2单元502室"),
        ("我的电话是幺三八零五七三二幺九九", "我的电话是13805732199"),
        ("案件号二零二五零一零一零零三", "案件号20250101003"),
        ("晚上十一点还在施工", "晚上11点还在施工"),
        ("长安路两百号", "长安路200号"),
    ],
)
def test_numbers_become_digits(spoken: str, written: str) -> None:
    assert numerals_to_digits(spoken) == written


@pytest.mark.parametrize("text", ["我要反映一下", "一片漆黑", "十分危险", "盖了一间房", "两个人", "一堆垃圾"])
def test_words_containing_numerals_are_left_alone(text: str) -> None:
    assert numerals_to_digits(text) == text


def test_normalize_combines_all_steps() -> None:
    assert normalize("我 要 反映 一下 , 海濱 東路 一百二十 号 門口") == "我要反映一下，海滨东路120号门口"


@pytest.mark.parametrize(
    ("decoded", "kept"),
    [
        # Whisper looping on short audio until its token budget ran out (seen on the caller fixtures)
        ("五元大到公交站的站停玻璃碎了" * 2 + "五元大到公交站的站停玻", "五元大到公交站的站停玻璃碎了"),
        ("城北西路的下水道堵了，路面前是雞水。路面前是雞水", "城北西路的下水道堵了，路面前是雞水。"),
    ],
)
def test_a_decoder_loop_is_cut_after_its_first_telling(decoded: str, kept: str) -> None:
    assert cut_runaway_repetition(decoded) == kept


@pytest.mark.parametrize(
    "said",
    [
        "谢谢谢谢",  # short repeats are how people talk
        "快点快点快点来",
        "我说了三遍三遍三遍了吗",  # a repeat inside the text, not up to its end
        "电话13800138001",  # digits repeat in numbers
        "幺三八零零幺三八零零幺",
        "我要反映一下，海滨东路120号门口的路灯坏了，晚上一片漆黑。",
        "",
    ],
)
def test_ordinary_speech_is_left_alone(said: str) -> None:
    assert cut_runaway_repetition(said) == said
