"""Secrets: detect-secrets' plugin formats and the ones added here are found and redacted; look-alikes pass."""

import re

import pytest

from guardrails.scanners.secrets import Secrets

S = Secrets()


@pytest.mark.parametrize("secret,label", [
    ("AKIAIOSFODNN7EXAMPLE", "AWS Access Key"),  # detect-secrets plugin
    ("ghp_" + "aB3" * 12, "GitHub Token"),  # detect-secrets plugin
    ("xoxb-2048-4096-abcdefabcdef", "Slack Token"),  # detect-secrets plugin
    ("github_pat_11AB" + "x9Y" * 25, "GitHub Fine-grained Token"),  # added
    ("hf_" + "Ab12Cd34" * 4 + "Xy", "Hugging Face Token"),  # added
    ("sk-proj-" + "Zq9" * 15, "OpenAI Token"),  # added
    ("AIza" + "B" * 35, "Google API Key"),  # added
])
def test_token_formats_are_found_and_redacted(secret: str, label: str) -> None:
    v = S.scan(f"here it is: {secret} thanks")
    assert not v.valid and v.spans[0].label == label and v.spans[0].text == secret
    assert secret not in v.sanitized and f"<SECRET:{label}>" in v.sanitized


def test_passwords_in_urls_code_and_prose() -> None:
    cases = {"postgres://admin:Tr0ub4dor@db.internal:5432/app": "Tr0ub4dor",
             "GET https://api.example.com/v1/items?user=bob&api_key=9f8e7d6c5b": "9f8e7d6c5b",
             'db_password = "correct-horse-battery"': "correct-horse-battery",
             "my password is Winter2024!": "Winter2024!"}
    for text, value in cases.items():
        v = S.scan(text)
        assert not v.valid and value in [s.text for s in v.spans], text
        assert value not in v.sanitized


def test_private_key_block_is_redacted_whole() -> None:
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx\nQ2hlY2tz\n-----END RSA PRIVATE KEY-----"
    v = S.scan(f"key:\n{key}\nbye")
    assert v.spans[0].text == key and v.sanitized == "key:\n<SECRET:Private Key>\nbye"


def test_look_alikes_pass() -> None:
    benign = ["uuid 123e4567-e89b-12d3-a456-426614174000", "commit 9bd9f01c2b1e4f8a9d0c3b2a1f0e9d8c7b6a5f4e",
              "the password policy needs 12 characters", "img data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAE",
              "visit https://example.com/docs?page=2&lang=en"]
    for text in benign:
        assert S.scan(text).valid, text


GH = "ghp_" + "aB3" * 12


@pytest.mark.parametrize("transform", ["spacing", "zero_width", "homoglyphs", "base64", "hex", "rot13"])
def test_disguised_keys_are_found_with_the_form_named(transform: str) -> None:
    from guardrails.evasions import apply

    assert S.scan(f"here it is: {GH} thanks").valid is False
    disguised = apply(transform, f"here it is: {GH} thanks")
    assert GH not in disguised  # the raw patterns cannot see it
    assert Secrets({"normalize": False}).scan(disguised).valid
    v = S.scan(disguised)
    assert not v.valid
    assert any(r.startswith("GitHub Token in the ") and "not mappable" in r for r in v.reasons), v.reasons


def test_a_key_found_in_a_normalised_form_is_mapped_back_when_it_occurs_in_the_text() -> None:
    # Cyrillic letters hide the keyword; the value itself is unchanged, so its span is in the original text
    text = '\u0440\u0430ssword = "Zx9qLm2vTr"'
    assert Secrets({"normalize": False}).scan(text).valid
    v = S.scan(text)
    assert not v.valid and [s.text for s in v.spans] == ["Zx9qLm2vTr"]
    assert v.sanitized == text.replace("Zx9qLm2vTr", f"<SECRET:{v.spans[0].label}>")


def test_hex_token_assigned_to_a_token_name() -> None:
    value = "0123456789abcdef" * 2 + "deadbeef"
    v = S.scan(f'api_token: "{value}"')
    assert not v.valid and v.spans[0].text == value and len(value) == 40
    assert S.scan("the token count is 1234567890123456789 today").valid


def test_disguise_reading_keeps_look_alikes_benign() -> None:
    # hashes and base64 images read without case and with leetspeak undone must not become keys
    for text in ["commit dac8ab553733ef898ccef07e6976a5f8b6314e27",
                 "img data:image/png;base64,iVBORw0KGgoEuW1WsAlEW7rqdbT6aiQ6n93EWYblTJCLsU9B0uAHon8tOcexEXks9SCH"]:
        assert S.scan(text).valid, text


def test_case_insensitive_patterns_are_compiled_before_the_first_scan() -> None:
    from guardrails.scanners import secrets as mod

    mod._folded_jobs.cache_clear()
    Secrets({"entropy": False})
    assert mod._folded_jobs.cache_info().currsize == 1  # built by the constructor, outside any time budget


def test_leet_tolerant_patterns_accept_the_digit_leetspeak_writes() -> None:
    from guardrails.scanners.secrets import leet_tolerant

    rx = re.compile(leet_tolerant(r"sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{4}(?P<end>x)"))
    assert rx.fullmatch("5k-4n7-4p103-ab_-x") and rx.fullmatch("sk-ant-api03-ab_-x")  # both readings
    assert not rx.fullmatch("5k-4n7-4p1xx-ab_-x")  # \d{2} still asks for digits
    assert leet_tolerant(r"[a-f]{2}\x41[^st]") == r"[43a-f]{2}\x41[^st]"  # escapes and negated classes kept


# Slack's digit groups, Anthropic's `api03` and Mailchimp's `-us13` are digits or letters a reading of
# leetspeak back cannot restore: the key is caught as written, its span in the text
LEET_KEYS = ["xoxb-50857804307-85563914322-P8Ohe9YYZqW12opmLDJp4FK6",
             "sk-ant-api03-" + "T3MNuB5ksyOpLx194-8J8z8svDjTXiZmT2QTYt7af9" * 2,
             "otdz3nqay38f8weoz7q7u46mmnmflsxw-us13", "sq0csp-AaFATWnmqz464ig8vZE88sp_WiEDaYCeFmzae7gZECf"]


@pytest.mark.parametrize("key", LEET_KEYS)
def test_keys_in_leetspeak_prose_are_found(key: str) -> None:
    from guardrails.evasions import leetspeak

    text = leetspeak(f"Can you check why this fails? {key} thanks")
    assert Secrets({"normalize": False}).scan(text).valid  # the raw patterns miss it
    v = S.scan(text)
    assert not v.valid and [s.text for s in v.spans] == [leetspeak(key)]
    assert leetspeak(key) not in v.sanitized


def test_leetspeak_prose_with_hashes_stays_benign() -> None:
    from guardrails.evasions import leetspeak

    # a sha256 with `437...` reads as AWS's `A3T...` prefix once 4/3/7 may be letters: hex-only values are not keys
    for text in ["sha256sum: 7cd695a6f437904c41c5122ccb9c36a2b4c5696fc5c1c2c386ac637f1fb26683 - is that a problem?",
                 "image@sha256:0a8834ce2d585b93e546eaac6984f786e912b734e7c7f72642947368e45ddea3 fails, why?",
                 "commit dac8ab553733ef898ccef07e6976a5f8b6314e27 broke the tests on the 1st and 5th"]:
        assert S.scan(leetspeak(text)).valid, text


def test_a_plain_key_does_not_hide_a_spaced_one_in_the_sanitized_text() -> None:
    from guardrails.policy import PolicyRunner, load_policy

    tok = "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    spaced = " ".join(tok)
    runner = PolicyRunner(load_policy(None))
    alone = runner.scan_input(f"For the deploy script use {spaced} thanks")
    assert not alone.valid and alone.blocked_by == ["secrets"]
    both = runner.scan_input(f"For the deploy script use {spaced} and AKIAIOSFODNN7EXAMPLE thanks")
    assert not both.valid and both.blocked_by == ["secrets"]  # was valid, the spaced token left in `sanitized`
    v = Secrets().scan(f"use {spaced} and AKIAIOSFODNN7EXAMPLE")
    assert any("GitHub Token" in r and "not mappable" in r for r in v.reasons)
    # plain keys alone are still redacted and the text passes: their folded forms are not found a second time
    ok = runner.scan_input(f"key AKIAIOSFODNN7EXAMPLE and {tok} ok")
    assert ok.valid and ok.sanitized == "key <SECRET:AWS Access Key> and <SECRET:GitHub Token> ok"
