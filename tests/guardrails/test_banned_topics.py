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


def test_one_everyday_keyword_is_not_a_topic(coding_math: BannedTopics) -> None:
    # a keyword alone (the mean with a low example probability) stays under the threshold
    for t in ["We saw a huge python at the zoo today.", "What does the dragon mean in Chinese culture?",
              "Which library in town has the best reading room?"]:
        v = coding_math.scan(t)
        assert v.valid, (t, coding_math.topic_scores(t))
    for t in ["How do I resolve this git merge conflict in my Python project?",
              "A train covers 120 km in 1.5 hours; what is its average speed? Show the arithmetic."]:
        assert not coding_math.scan(t).valid, (t, coding_math.topic_scores(t))


def test_fast_scoring_equals_scikit_learn(coding_math: BannedTopics) -> None:
    # the scan-time TF-IDF + logistic arithmetic must reproduce sklearn's transform + predict_proba
    for t in ["write a sql query that joins two tables", "plan a picnic in the park", "integrate x squared",
              "", "\u00e9t\u00e9 \u2014 caf\u00e9 na\u00efve"]:
        ours = coding_math._probabilities(t)
        x = coding_math._features.transform([t])
        theirs = [m.predict_proba(x)[0, 1] for m in coding_math._models]
        assert ours == pytest.approx(theirs, abs=1e-9), t


def test_keyword_only_topic_counts_keywords() -> None:
    s = BannedTopics({"topics": [{"name": "weather", "keywords": ["rain", "forecast", "humidity"]}]})
    assert not s.scan("Is there rain in the forecast?").valid
    assert s.scan("Tell me about the history of Rome.").valid
