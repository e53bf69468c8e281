#!/usr/bin/env python3
"""Generates tests/data/phone_oracle.tsv: the verdicts of Google's libphonenumber (its
Python port, PyPI `phonenumbers`) on example numbers of every region and type, in E.164,
international and national formats, plus invalid examples and numbers one digit short or
long. The phone engine's agreement test (src/phone/agreement.rs) replays them.

Regenerate (the version is pinned to the metadata rlibphonenumber carries):

    python3 -m venv .tools/venv
    .tools/venv/bin/pip install phonenumbers==9.0.42
    .tools/venv/bin/python scripts/gen_phone_fixture.py > tests/data/phone_oracle.tsv

Columns, tab-separated: input, region hint ("" for none), oracle verdict (valid,
invalid or error), E.164, region, number type (libphonenumber's name).
"""
import sys

import phonenumbers
from phonenumbers import PhoneNumberFormat as F
from phonenumbers import PhoneNumberType as T

PINNED = "9.0.42"

TYPES = [
    ("FIXED_LINE", T.FIXED_LINE),
    ("MOBILE", T.MOBILE),
    ("TOLL_FREE", T.TOLL_FREE),
    ("PREMIUM_RATE", T.PREMIUM_RATE),
    ("SHARED_COST", T.SHARED_COST),
    ("VOIP", T.VOIP),
    ("PERSONAL_NUMBER", T.PERSONAL_NUMBER),
    ("PAGER", T.PAGER),
    ("UAN", T.UAN),
    ("VOICEMAIL", T.VOICEMAIL),
]

TYPE_NAMES = {
    T.FIXED_LINE: "FIXED_LINE",
    T.MOBILE: "MOBILE",
    T.FIXED_LINE_OR_MOBILE: "FIXED_LINE_OR_MOBILE",
    T.TOLL_FREE: "TOLL_FREE",
    T.PREMIUM_RATE: "PREMIUM_RATE",
    T.SHARED_COST: "SHARED_COST",
    T.VOIP: "VOIP",
    T.PERSONAL_NUMBER: "PERSONAL_NUMBER",
    T.PAGER: "PAGER",
    T.UAN: "UAN",
    T.VOICEMAIL: "VOICEMAIL",
    T.UNKNOWN: "UNKNOWN",
}


def oracle(text, hint):
    """The oracle's verdict on one input: (verdict, e164, region, type)."""
    try:
        number = phonenumbers.parse(text, hint or None)
    except phonenumbers.NumberParseException:
        return ("error", "", "", "")
    valid = phonenumbers.is_valid_number(number)
    e164 = phonenumbers.format_number(number, F.E164)
    region = phonenumbers.region_code_for_number(number) or ""
    kind = TYPE_NAMES.get(phonenumbers.number_type(number), "UNKNOWN") if valid else ""
    return ("valid" if valid else "invalid", e164, region if valid else "", kind)


def inputs():
    """Yields (input, hint) pairs, each once."""
    seen = set()

    def emit(text, hint):
        if (text, hint) not in seen:
            seen.add((text, hint))
            yield (text, hint)

    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        numbers = []
        for _, kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                numbers.append(example)
        for number in numbers:
            yield from emit(phonenumbers.format_number(number, F.E164), "")
            yield from emit(phonenumbers.format_number(number, F.INTERNATIONAL), "")
            yield from emit(phonenumbers.format_number(number, F.NATIONAL), region)
            # One digit short and one digit long, in E.164.
            e164 = phonenumbers.format_number(number, F.E164)
            yield from emit(e164[:-1], "")
            yield from emit(e164 + "7", "")
        invalid = phonenumbers.invalid_example_number(region)
        if invalid is not None:
            yield from emit(phonenumbers.format_number(invalid, F.E164), "")
            yield from emit(phonenumbers.format_number(invalid, F.NATIONAL), region)
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        number = phonenumbers.example_number_for_non_geo_entity(code)
        if number is not None:
            yield from emit(phonenumbers.format_number(number, F.E164), "")
            yield from emit(phonenumbers.format_number(number, F.INTERNATIONAL), "")


def main():
    if phonenumbers.__version__ != PINNED:
        sys.exit(f"phonenumbers {PINNED} is pinned; this is {phonenumbers.__version__}")
    out = sys.stdout
    out.write(f"# oracle: python phonenumbers {phonenumbers.__version__} "
              f"(libphonenumber metadata {PINNED})\n")
    out.write("# input\thint\tverdict\te164\tregion\ttype\n")
    rows = sorted(set((text, hint) + oracle(text, hint) for text, hint in inputs()))
    for row in rows:
        out.write("\t".join(row) + "\n")


if __name__ == "__main__":
    main()
