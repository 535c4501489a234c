"""A labelled personal-data corpus, generated (seeded; no real person's data): messages that carry one
value of a kind (``EMAIL``, ``PHONE``, ``CARD``, ``IBAN``, ``IP``) in customer-service wording, and
ordinary messages full of numbers that are no personal data (order numbers, amounts, dates, times,
versions, flight numbers), which must come out unchanged."""

from __future__ import annotations

import random
from dataclasses import dataclass

TEMPLATES = (
    "Please contact me at {v} about my refund.",
    "my details: {v} - nobody called back!!",
    "I gave {v} to your agent and still waiting",
    "Reach me on {v}.",
    "({v}) was charged twice, fix this",
    "hi, it's about {v}, the app keeps crashing",
)
ORDINARY = (
    "Order 4471-2290 arrived late, paid $1,250.00 on 2024-05-01.",
    "ticket #884213 still open after 12 days",
    "version 3.14.2 crashes at 10:45 every morning",
    "flight BA2490 delayed 3 hours, gate 22",
    "I was on hold for 45 minutes at 9:30am",
    "refund of 199.99 EUR for invoice 2023-0098 not received",
    "the 2 items cost 34.50 and 12.00",
    "my zip is 94107 and the branch code 4402",
    "page 1 of 3, error code 0x80070005",
    "week 2023-W22, 5 stars before, 1 star now",
    "charged 3 times: 19.99, 19.99 and 19.99",
    "account ending in 4821 was locked",
    "reference number 7733 1289 4410",
    "I called 4 times between 8 and 11",
    "Sent from my iPhone 15 Pro, iOS 17.4.1",
    "this violates 15 U.S.C 1681 section 604 (a)(2) and 15 USC 1692",
)
KINDS = ("EMAIL", "PHONE", "CARD", "IBAN", "IP")


@dataclass(frozen=True)
class Sample:
    text: str
    kind: str | None  # None: ordinary text, nothing to redact
    value: str | None


def corpus(per_kind: int = 100, seed: int = 11) -> list[Sample]:
    rng = random.Random(seed)
    makers = {"EMAIL": _email, "PHONE": _phone, "CARD": _card, "IBAN": _iban, "IP": _ip}
    out = []
    for kind in KINDS:
        for _ in range(per_kind):
            value = makers[kind](rng)
            out.append(Sample(rng.choice(TEMPLATES).format(v=value), kind, value))
    out += [Sample(text, None, None) for text in ORDINARY]
    return out


def _email(rng: random.Random) -> str:
    first = rng.choice(["ana", "li", "jo", "sam", "kim", "noor", "ola"])
    last = rng.choice(["smith", "garcia", "o.brien", "nguyen", "muller", "rossi"])
    sep = rng.choice([".", "_", "", "+"])
    domain = rng.choice(["example.com", "mail.example.org", "example.co.uk", "test-mail.example.net"])
    return f"{first}{sep}{last}{rng.randint(1, 99)}@{domain}"


def _phone(rng: random.Random) -> str:
    import phonenumbers
    from phonenumbers import PhoneNumberFormat

    while True:
        region = rng.choice(["US", "GB", "DE", "FR"])
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        national = str(example.national_number)
        digits = national[:3] + "".join(str(rng.randint(0, 9)) for _ in national[3:])
        number = phonenumbers.parse(digits, region)
        if phonenumbers.is_valid_number(number):
            fmt = rng.choice([PhoneNumberFormat.E164, PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.NATIONAL])
            return phonenumbers.format_number(number, fmt)


def _card(rng: random.Random) -> str:
    from stdnum import luhn

    prefix = rng.choice(["4", "51", "52", "55", "37"])
    length = 15 if prefix == "37" else 16
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    number = body + luhn.calc_check_digit(body)
    sep = rng.choice(["", " ", "-"])
    return sep.join(number[i : i + 4] for i in range(0, len(number), 4))


def _iban(rng: random.Random) -> str:
    from stdnum import iban

    while True:  # some countries add a national check (France's RIB key): draw again until valid
        country, length = rng.choice([("DE", 18), ("FR", 23), ("GB", 18), ("NL", 14), ("AT", 16)])
        letters = {"GB": "NWBK", "NL": "ABNA"}.get(country, "")
        bban = letters + "".join(str(rng.randint(0, 9)) for _ in range(length - len(letters)))
        number = country + iban.calc_check_digits(country + "00" + bban) + bban
        if iban.is_valid(number):
            break
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4)) if rng.random() < 0.5 else number


def _ip(rng: random.Random) -> str:
    return ".".join(str(rng.randint(1, 254)) for _ in range(4))
