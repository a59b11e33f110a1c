"""InvisibleText: hidden characters and mixed-script words are flagged and removed; emoji are not."""

from guardrails.scanners.invisible_text import InvisibleText

S = InvisibleText()


def test_zero_width_tags_and_bidi_are_flagged_and_stripped() -> None:
    zw = S.scan("ig\u200bno\u200dre me")
    assert not zw.valid and zw.sanitized == "ignore me" and {s.label for s in zw.spans} == {"ZERO_WIDTH"}
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "rm -rf")
    tag = S.scan(f"hi{hidden}")
    assert tag.spans[0].label == "TAG_CHARACTERS" and tag.spans[0].end - tag.spans[0].start == 6
    assert tag.sanitized == "hi"
    bidi = S.scan("invoice\u202egpj.exe")
    assert not bidi.valid and bidi.spans[0].label == "BIDI_CONTROL"


def test_mixed_script_words_are_folded() -> None:
    v = S.scan("please \u0440ay the invoice")  # Cyrillic р in "pay"
    assert not v.valid and v.spans[0].label == "MIXED_SCRIPT" and v.sanitized == "please pay the invoice"


def test_clean_text_emoji_and_other_scripts_pass() -> None:
    for text in ["plain ascii", "family \U0001F468\u200d\U0001F469\u200d\U0001F467 and \u2764\ufe0f",
                 "Привет, как дела?", "\ufeffstarts with a BOM", "", "Ελληνικά κείμενα"]:
        v = S.scan(text)
        assert v.valid and v.score == 0.0 and v.sanitized == text, text


def test_accented_prompt_is_cleared_without_the_full_pass(monkeypatch) -> None:
    prose = "The café’s “naïve” résumé — déjà vu. " * 25
    s = InvisibleText()

    def full_pass(*a, **k):
        raise AssertionError("the per-word homoglyph pass ran on a prompt with no look-alike letter")
    monkeypatch.setattr(InvisibleText, "_homoglyphs", staticmethod(full_pass))
    assert s.scan(prose).valid
    zw = s.scan(prose[:100] + "\u200b" + prose[100:])  # an invisible character alone: no homoglyph pass either
    assert not zw.valid and [sp.label for sp in zw.spans] == ["ZERO_WIDTH"]
    monkeypatch.undo()
    hidden = prose[:300] + "\u2066" + prose[300:]
    v = s.scan(hidden)
    assert not v.valid and [sp.label for sp in v.spans] == ["BIDI_CONTROL"] and v.sanitized == prose
    v = s.scan(prose + " log in to p\u0430ypal")
    assert not v.valid and v.spans[0].text == "p\u0430ypal" and v.sanitized.endswith("paypal")


def test_safe_ranges_hold_no_invisible_or_look_alike_character() -> None:
    # the scanner clears these characters without testing them: none may be invisible or of a look-alike script
    from guardrails.scanners.invisible_text import _INVISIBLE, _OTHER_SCRIPT, SAFE_RANGES

    for a, b in SAFE_RANGES:
        for cp in range(a, b + 1):
            assert _INVISIBLE.match(chr(cp)) is None and _OTHER_SCRIPT.match(chr(cp)) is None, hex(cp)


def test_fast_path_finds_what_the_full_class_finds() -> None:
    # reference: the whole invisible class run over the whole text, as before the one-pass shortcut
    import random

    from guardrails.scanners.invisible_text import _INVISIBLE, _OTHER_SCRIPT

    class Reference(InvisibleText):
        @staticmethod
        def _suspect(text: str) -> tuple[str, bool]:
            chars = "".join(set(text))
            return "".join(_INVISIBLE.findall(chars)), _OTHER_SCRIPT.search(chars) is not None

        @classmethod
        def _runs_of(cls, chars: str):  # noqa: ANN206
            return _INVISIBLE

    g = random.Random(3)
    pool = list("abc xyz.,") + ["\u200b", "\u200d", "\u2060", "\u00ad", "\u202e", "\u2066", "\ufe0f", "\ue000",
                                "\U000e0041", "\ufeff", "\u00e9", "\u201c", "\u2014", "\u0430", "\u03bf", "\U0001f600",
                                "\u4e2d", "\u180e", "\u3164"]
    fast, ref = InvisibleText(), Reference()
    for _ in range(400):
        t = "".join(g.choice(pool) for _ in range(g.randint(0, 30)))
        a, b = fast.scan(t).to_dict(), ref.scan(t).to_dict()
        a.pop("latency_ms"), b.pop("latency_ms")
        assert a == b, repr(t)
