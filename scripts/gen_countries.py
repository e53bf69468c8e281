#!/usr/bin/env python3
"""Prints the ISO 3166-1 table of src/phone/region.rs (alpha-2, alpha-3, English names)
from PyPI pycountry's ISO 3166 data. Paste its output over the COUNTRIES table.

    .tools/venv/bin/pip install pycountry && .tools/venv/bin/python scripts/gen_countries.py
"""
import pycountry

print("/// ISO 3166-1: alpha-2, alpha-3, English names (ISO short, official and common forms,")
print(f"/// from the ISO 3166 data as packaged by PyPI pycountry {pycountry.__version__}).")
print("/// Regenerate with scripts/gen_countries.py.")
print("pub(super) const COUNTRIES: &[(&str, &str, &[&str])] = &[")
for c in sorted(pycountry.countries, key=lambda c: c.alpha_2):
    names = {c.name}
    for attr in ("official_name", "common_name"):
        value = getattr(c, attr, None)
        if value:
            names.add(value)
    quoted = ", ".join('"' + n.replace('"', '\\"') + '"' for n in sorted(names))
    print(f'    ("{c.alpha_2}", "{c.alpha_3}", &[{quoted}]),')
print("];")
