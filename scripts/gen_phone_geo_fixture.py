#!/usr/bin/env python3
"""Generates tests/data/phone_geo_oracle.tsv: what libphonenumber's offline mappers (its
Python port, PyPI `phonenumbers`, at the version of the phone metadata) say of the example
numbers of every region and type: time zones, the geocoder's description in English,
Spanish, Portuguese and Russian, and the carrier. The phone engine's geo agreement test
(src/phone/geo_tests.rs) replays them against data/phone_geo/.

Regenerate (the version is pinned to the metadata rlibphonenumber carries):

    python3 -m venv .tools/venv
    .tools/venv/bin/pip install phonenumbers==9.0.42
    .tools/venv/bin/python scripts/gen_phone_geo_fixture.py > tests/data/phone_geo_oracle.tsv

Columns, tab-separated: E.164, country calling code, national significant number,
number type (libphonenumber's name), time zones joined by `&`, the description in en,
es, pt and ru, the carrier (English).
"""
import os
import sys

import phonenumbers
from phonenumbers import PhoneNumberFormat as F
from phonenumbers import carrier, geocoder, timezone

PINNED = "9.0.42"

# The types by name, and the types with example numbers: the oracle fixture's own.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_phone_fixture import TYPE_NAMES, TYPES  # noqa: E402


def numbers():
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for _, kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                yield example
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            yield example


def main():
    if phonenumbers.__version__ != PINNED:
        sys.exit(f"phonenumbers {PINNED} is pinned; this is {phonenumbers.__version__}")
    out = sys.stdout
    out.write(f"# oracle: python phonenumbers {phonenumbers.__version__} "
              f"(libphonenumber metadata {PINNED})\n")
    out.write("# e164\tcountry_code\tnational\ttype\ttime_zones\ten\tes\tpt\tru\tcarrier\n")
    rows = set()
    for number in numbers():
        if not phonenumbers.is_valid_number(number):
            continue
        kind = TYPE_NAMES.get(phonenumbers.number_type(number), "UNKNOWN")
        if kind == "UNKNOWN":
            continue
        zones = [z for z in timezone.time_zones_for_number(number) if z != "Etc/Unknown"]
        places = [geocoder.description_for_number(number, lang) for lang in ("en", "es", "pt", "ru")]
        rows.add((
            phonenumbers.format_number(number, F.E164),
            str(number.country_code),
            phonenumbers.national_significant_number(number),
            kind,
            "&".join(zones),
            *places,
            carrier.name_for_number(number, "en"),
        ))
    for row in sorted(rows):
        out.write("\t".join(row) + "\n")


if __name__ == "__main__":
    main()
