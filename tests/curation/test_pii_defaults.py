"""What the default PII step scrubs (structured identifiers only), when NER may run, and the density rule."""

from __future__ import annotations

import polars as pl
import pytest
import yaml

from curation.errors import WinnowError
from curation.recipe import parse_recipe
from curation.steps import get_step

PROSE = ("Shakespeare's legacy survived centuries in the United States. In the fact of winter of 1999 the "
         "Zotero and Mastodon teams met on Github on Monday, 15 January 2024 at 10:30.")
IDS = ("Write to jane.roe@example.org or call (212) 555-0198. Server 10.20.30.40, card 4111 1111 1111 1111, "
       "IBAN GB82 WEST 1234 5698 7654 32. DB at https://admin:s3cret@db.example.com/prod, "
       "docs at https://example.com/guide?page=2.")


def _score(texts: list[str], **cfg) -> pl.DataFrame:
    cls = get_step("pii")
    step = cls(cls.Config(**cfg))
    return step.score(pl.DataFrame({"id": [str(i) for i in range(len(texts))], "text": texts,
                                    "order": list(range(len(texts)))}))


def _found(row: list[dict], text: str) -> set[tuple[str, str]]:
    return {(s["entity_type"], text[s["start"]:s["end"]]) for s in row}


def test_default_scrubs_structured_identifiers_and_leaves_prose_alone() -> None:
    out = _score([PROSE, IDS])
    assert out["pii_spans"][0].to_list() == []  # names, places, dates, products: untouched
    got = _found(out["pii_spans"][1].to_list(), IDS)
    assert got == {("EMAIL_ADDRESS", "jane.roe@example.org"), ("PHONE_NUMBER", "(212) 555-0198"),
                   ("IP_ADDRESS", "10.20.30.40"), ("CREDIT_CARD", "4111 1111 1111 1111"),
                   ("IBAN_CODE", "GB82 WEST 1234 5698 7654 32"),
                   ("URL_CREDENTIALS", "https://admin:s3cret@db.example.com/prod,")}
    assert "pii_PERSON" not in out.columns and "pii_DATE_TIME" not in out.columns


def test_ner_never_switches_itself_on() -> None:
    cls = get_step("pii")
    assert cls.Config().ner == "off"
    with pytest.raises(ValueError, match="ner: auto. is gone"):
        cls.Config(ner="auto")
    with pytest.raises(ValueError, match="PERSON need NER"):
        cls.Config(entities=["EMAIL_ADDRESS", "PERSON"])
    with pytest.raises(ValueError, match="unknown entity type"):
        cls.Config(entities=["EMAIL"])
    # YAML reads `ner: off` as false: still the word off
    rec = parse_recipe(yaml.safe_load("signals:\n  pii:\n    ner: off\n"))
    assert rec.step_config("pii").ner == "off"
    with pytest.raises(WinnowError, match="signals.pii"):
        parse_recipe({"signals": {"pii": {"ner": "auto"}}})


def test_asked_for_dates_need_the_threshold_and_allow_list_applies() -> None:
    text = "Born on 2024-01-15. Mail support@example.org or jane.roe@example.org."
    default = _found(_score([text])["pii_spans"][0].to_list(), text)
    assert default == {("EMAIL_ADDRESS", "support@example.org"), ("EMAIL_ADDRESS", "jane.roe@example.org")}
    # DATE_TIME asked for, pattern-found (score < 0.85): the confidence threshold keeps it out unless lowered
    ents = ["EMAIL_ADDRESS", "DATE_TIME"]
    strict = _found(_score([text], entities=ents)["pii_spans"][0].to_list(), text)
    assert not any(e == "DATE_TIME" for e, _ in strict)
    loose = _found(_score([text], entities=ents, ner_min_score=0.0)["pii_spans"][0].to_list(), text)
    assert any(e == "DATE_TIME" for e, _ in loose)
    allowed = _found(_score([text], allow_list=["SUPPORT@example.org"])["pii_spans"][0].to_list(), text)
    assert allowed == {("EMAIL_ADDRESS", "jane.roe@example.org")}


def test_density_is_per_entity_type_per_thousand_characters() -> None:
    filler = "The meeting notes were long and nobody read them all the way through. "
    dump = "\n".join(f"user{i}@example.org" for i in range(30))  # 30 emails in ~540 characters
    thread = (filler * 20 + "contact: a@example.org, 212-555-0198\n") * 10  # 10 emails + 10 phones, ~15K chars
    short = "Questions? Mail help@example.org."
    out = _score([dump, thread, short])
    n_chars = [len(dump), len(thread), len(short)]
    assert out["pii_chars"].to_list() == n_chars
    dens = out["pii_density_max"].to_list()
    assert dens[0] == pytest.approx(30 / 1.0)  # shorter than 1,000 characters: counted as 1,000
    assert dens[1] == pytest.approx(10 / (n_chars[1] / 1000))  # per type: 10 emails, not 20 spans
    assert dens[2] == pytest.approx(1.0)
    assert out["pii_density_entity"].to_list() == ["EMAIL_ADDRESS", "EMAIL_ADDRESS", "EMAIL_ADDRESS"]
    assert out["pii_count"].to_list() == [30, 20, 1]
