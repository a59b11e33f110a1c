"""BannedTopics: built-in and inline topics matched by keywords and example similarity, no LLM."""

import pytest

from curation.errors import WinnowError
from guardrails.scanners.banned_topics import BannedTopics, builtin_topics


@pytest.fixture(scope="module")
def coding_math() -> BannedTopics:
    return BannedTopics({"topics": ["coding", "math"]})


def test_builtin_topics_flag_their_subject(coding_math: BannedTopics) -> None:
    assert {"coding", "math", "politics"} <= set(builtin_topics())
    for t in ["Write a Python function that merges two sorted arrays.",
              "Solve the quadratic equation x^2 - 5x + 6 = 0 and explain the derivative of the result."]:
        v = coding_math.scan(t)
        assert not v.valid, t
    v = coding_math.scan("Write a Python function that merges two sorted arrays.")
    assert v.reasons[0].startswith("coding")
    for t in ["Suggest a weekend itinerary for Lisbon.", "Write a haiku about autumn rain."]:
        assert coding_math.scan(t).valid, t


def test_inline_topic_and_evasion() -> None:
    s = BannedTopics({"topics": [{"name": "crypto", "keywords": ["bitcoin", "ethereum", "token sale"],
                                  "examples": ["Should I buy bitcoin now?"]}]})
    assert not s.scan("compare bitcoin with ethereum").valid
    assert not s.scan("compare b1tc01n with 3th3r3um").valid
    assert s.scan("compare apples with pears").valid


def test_unknown_topic_and_typo_are_errors() -> None:
    with pytest.raises(WinnowError, match="coding"):
        BannedTopics({"topics": ["codng"]})
    with pytest.raises(Exception, match="keyword"):
        BannedTopics({"topics": [{"name": "x", "keyword": ["a"]}]})
