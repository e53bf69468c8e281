#!/usr/bin/env python3
"""The baseline of the phone benchmark: Google's libphonenumber through its Python port
(PyPI `phonenumbers`, the same metadata release) on the same inputs as `benches/phone.rs`,
one thread: parse, validity, type and E.164 of every row of tests/data/phone_oracle.tsv.

    .tools/venv/bin/pip install phonenumbers==9.0.42
    .tools/venv/bin/python scripts/bench_phonenumbers.py

Prints numbers per second, best of five passes, to set beside criterion's figure for
`phone/validate_uncached` measured in the same sitting.
"""
import pathlib
import time

import phonenumbers

FIXTURE = pathlib.Path(__file__).resolve().parent.parent / "tests/data/phone_oracle.tsv"


def inputs():
    rows = []
    for line in FIXTURE.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line:
            continue
        cols = line.split("\t")
        rows.append((cols[0], cols[1] or None))
    return rows


def validate_all(rows):
    for text, region in rows:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        phonenumbers.is_valid_number(number)
        phonenumbers.number_type(number)
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def main():
    rows = inputs()
    validate_all(rows)  # warm the metadata, as the Rust bench does before measuring
    best = None
    for _ in range(5):
        start = time.perf_counter()
        validate_all(rows)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    print(f"phonenumbers {phonenumbers.__version__}: {len(rows)} numbers, "
          f"{len(rows) / best:,.0f} numbers/s (best of 5, one thread)")


if __name__ == "__main__":
    main()
