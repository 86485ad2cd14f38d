"""Normalisation, tokens and sentences for Chinese, English and mixed notes."""

from __future__ import annotations

from checker.core.textnorm import (
    language_of,
    normalise_text,
    split_sentences,
    to_simplified,
    tokenize,
    word_count,
)


def test_full_width_and_case_forms_normalise_to_the_same_tokens():
    assert normalise_text("ＳＧＤ，Ｌｅａｒｎｉｎｇ Rate") == normalise_text("sgd, learning rate")


def test_traditional_chinese_normalises_to_simplified():
    assert to_simplified("深度學習與機器學習") == "深度学习与机器学习"
    assert normalise_text("網絡的參數") == normalise_text("网络的参数")


def test_punctuation_never_makes_tokens():
    assert normalise_text("模型，训练！") == normalise_text("模型训练")


def test_chinese_characters_and_latin_words_are_tokens_with_offsets():
    text = "我们用softmax回归"
    tokens = tokenize(text)
    assert [t.text for t in tokens] == ["我", "们", "用", "softmax", "回", "归"]
    assert all(text[t.start : t.end].lower() == t.text for t in tokens)


def test_jieba_words_mode_segments_chinese_and_keeps_offsets():
    text = "深度学习模型 uses SGD"
    tokens = tokenize(text, chinese="words")
    assert "深度" in [t.text for t in tokens] or "深度学习" in [t.text for t in tokens]
    assert [t.text for t in tokens][-2:] == ["uses", "sgd"]
    assert all(text[t.start : t.end].lower() == t.text for t in tokens)


def test_sentences_split_at_chinese_punctuation_and_keep_closing_quotes():
    text = "第一句。第二句！第三句？“引号里。”第四句；最后"
    pieces = [text[s:e] for s, e in split_sentences(text)]
    assert pieces == ["第一句。", "第二句！", "第三句？", "“引号里。”", "第四句；", "最后"]


def test_english_full_stops_split_but_abbreviations_and_decimals_do_not():
    text = "We use SGD, e.g. with lr 0.1 in Fig. 3. Then we stop. 然后继续。"
    pieces = [text[s:e] for s, e in split_sentences(text)]
    assert pieces == ["We use SGD, e.g. with lr 0.1 in Fig. 3.", "Then we stop.", "然后继续。"]


def test_overlong_sentences_are_cut_at_commas():
    text = "，".join(["这是一个很长的从句"] * 60) + "。"
    spans = split_sentences(text, max_chars=100)
    assert len(spans) > 1
    assert all(e - s <= 100 for s, e in spans)


def test_language_tells_chinese_with_english_terms_from_english():
    assert language_of("softmax回归是一个单层神经网络") == "zh"
    assert language_of("Softmax regression is a single-layer network.") == "en"
    assert language_of("$$ 1 + 2 $$") == ""


def test_word_count_counts_chinese_characters_as_partial_words():
    assert word_count("hello world") == 2
    assert word_count("深度学习模型训练") == 5  # 8 characters / 1.7


def test_embedding_text_is_simplified_with_half_width_letters_but_keeps_chinese_punctuation():
    from checker.core.textnorm import normalise_for_embedding

    assert normalise_for_embedding("深度學習用ＳＧＤ訓練，很好。") == "深度学习用SGD训练，很好。"
