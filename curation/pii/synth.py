"""Web-like documents with PII sprinkled in, for the PII benchmark and tests (no data files needed).

Each document is filler prose (common English words, numbers, years, prices) of about `size` characters
with a few PII values inserted between sentences: emails, phone numbers in several formats, IPv4 addresses,
credit cards (Luhn-valid and invalid), IBANs with correct check digits, SSNs, URLs, dates and names.
The returned `truth` lists what was inserted (type, start, end) so a caller can measure recall.
"""

from __future__ import annotations

import random

WORDS = ("the of and to in a is that for it as was with be by on not he this are or his from at which but "
         "have an they you were her she there been one all we their has would when if so what no out up "
         "into more other some time could them these two may first then do any like my now over such our "
         "man me even most made after also did many before must through back years where much your way "
         "well down should because each just those people how too little state good very make world still "
         "own see men work long get here between both life being under never day same another know while "
         "last might us great old year off come since against go came right used take three market data "
         "report price service customer order team project system support update release").split()
FIRST = ("James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard "
         "Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa Anthony Betty").split()
LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
        "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Clark").split()
DOMAINS = ("example.com mail.org company.net university.edu shop.co.uk service.io news.de").split()
CITIES = ("Boston Chicago Seattle London Paris Berlin Madrid Toronto Sydney Denver Austin Dublin").split()


def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def _card(rng: random.Random, valid: bool) -> str:
    prefix = rng.choice(["4", "51", "52", "55", "37", "6011"])
    body = prefix + "".join(rng.choice("0123456789") for _ in range(15 - len(prefix)))
    check = luhn_digit(body)
    if not valid:
        check = str((int(check) + rng.randint(1, 9)) % 10)
    num = body + check
    return rng.choice([num, " ".join(num[i:i + 4] for i in range(0, 16, 4)),
                       "-".join(num[i:i + 4] for i in range(0, 16, 4))])


def _iban(rng: random.Random) -> str:
    country, bban = rng.choice([("DE", "".join(rng.choice("0123456789") for _ in range(18))),
                                ("GB", "NWBK" + "".join(rng.choice("0123456789") for _ in range(14))),
                                ("FR", "".join(rng.choice("0123456789") for _ in range(23)))])
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    iban = f"{country}{check:02d}{bban}"
    return iban if rng.random() < 0.5 else " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


def _phone(rng: random.Random) -> str:
    a, b, c = rng.randint(201, 989), rng.randint(200, 999), rng.randint(0, 9999)
    return rng.choice([f"({a}) {b}-{c:04d}", f"{a}-{b}-{c:04d}", f"+1 {a} {b} {c:04d}", f"{a}.{b}.{c:04d}",
                       f"+44 20 {rng.randint(7000, 8999)} {rng.randint(1000, 9999)}"])


def pii_value(kind: str, rng: random.Random) -> str:
    """One value of a PII kind, formatted as people write it."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    if kind == "EMAIL_ADDRESS":
        return f"{first.lower()}.{last.lower()}{rng.randint(1, 99)}@{rng.choice(DOMAINS)}"
    if kind == "PHONE_NUMBER":
        return _phone(rng)
    if kind == "IP_ADDRESS":
        return ".".join(str(rng.randint(1, 254)) for _ in range(4))
    if kind == "CREDIT_CARD":
        return _card(rng, valid=True)
    if kind == "IBAN_CODE":
        return _iban(rng)
    if kind == "US_SSN":
        return f"{rng.randint(101, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
    if kind == "URL":
        return f"https://www.{rng.choice(DOMAINS)}/{rng.choice(WORDS)}/{rng.randint(1, 999)}"
    if kind == "DATE_TIME":
        return f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(1950, 2024)}"
    if kind == "PERSON":
        return f"{first} {last}"
    if kind == "LOCATION":
        return rng.choice(CITIES)
    raise ValueError(kind)


TEMPLATES = {
    "EMAIL_ADDRESS": "Write to {} for details.", "PHONE_NUMBER": "Call us at {} today.",
    "IP_ADDRESS": "The server at {} was down.", "CREDIT_CARD": "Paid with card {} last week.",
    "IBAN_CODE": "Transfer to IBAN {} please.", "US_SSN": "His SSN is {} on file.",
    "URL": "See {} for more.", "DATE_TIME": "It started on {} in the morning.",
    "PERSON": "Yesterday {} said hello.", "LOCATION": "She moved to {} last year.",
}


def _sentence(rng: random.Random) -> str:
    n = rng.randint(8, 20)
    words = [rng.choice(WORDS) for _ in range(n)]
    if rng.random() < 0.3:
        words.insert(rng.randint(0, n), str(rng.choice([rng.randint(1, 500), rng.randint(1990, 2025)])))
    if rng.random() < 0.1:
        words.insert(rng.randint(0, n), f"${rng.randint(5, 900)}.{rng.randint(0, 99):02d}")
    s = " ".join(words)
    return s[0].upper() + s[1:] + "."


def make_documents(n: int, seed: int = 0, size: int = 2000, pii_per_doc: int = 4,
                   kinds: list[str] | None = None) -> tuple[list[str], list[list[tuple[str, int, int]]]]:
    """`n` documents of about `size` characters and, for each, the inserted PII (type, start, end)."""
    rng = random.Random(seed)
    kinds = kinds or list(TEMPLATES)
    docs, truths = [], []
    for _ in range(n):
        parts: list[str] = []
        truth: list[tuple[str, int, int]] = []
        length = 0
        k = rng.randint(max(0, pii_per_doc - 2), pii_per_doc + 2)
        slots = set(rng.sample(range(40), k))
        i = 0
        while length < size:
            if i in slots:
                kind = rng.choice(kinds)
                value = pii_value(kind, rng)
                tpl = TEMPLATES[kind]
                pre = tpl.index("{}")
                start = length + pre
                truth.append((kind, start, start + len(value)))
                sent = tpl.format(value)
            else:
                sent = _sentence(rng)
            parts.append(sent)
            length += len(sent) + 1
            i += 1
        docs.append(" ".join(parts))
        truths.append(truth)
    return docs, truths
