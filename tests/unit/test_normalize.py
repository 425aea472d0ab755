"""Normalisation of recogniser output: spaces, script, numbers."""

import pytest

from transcribe.normalize import normalize, numerals_to_digits, remove_word_spaces, to_simplified


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
