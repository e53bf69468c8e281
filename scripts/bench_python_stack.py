#!/usr/bin/env python3
"""The Python baseline of the lead benchmark: the stack people write in Python instead of
calling leadcheck, run on the same leads against the same DNS server.

Per lead:
  email  PyPI `email-validator` validate_email(addr, check_deliverability=True,
         dns_resolver=resolver): syntax, then MX (falling back to A, AAAA and TXT when a
         domain has no MX) through a dnspython Resolver(configure=False) that asks only the
         benchmark's DNS server, lifetime 2 s, with a dnspython LRUCache (set up by
         email-validator's own `caching_resolver` helper). EmailNotValidError -> invalid.
         Then the domain after the last "@", lower-cased, is looked up (exact match) in
         the `blocklist` set of PyPI `disposable-email-domains`.
  phone  PyPI `phonenumbers`: parse(phone, country or None), is_valid_number;
         NumberParseException -> invalid.

Sequential, one thread, one process: that is how such scripts run.

How email-validator 2.4 treats DNS, for reading the counts: with no MX it asks A, then
AAAA, then TXT (a "v=spf1 -all" rejects); an A/AAAA fallback counts only for globally
routable addresses, so a no-MX domain whose A is 127.0.0.1 or 10.x is undeliverable. A null
MX is undeliverable, NXDOMAIN is undeliverable, but a timeout or SERVFAIL lets the address
through. Special-use names (.test, .localhost, .invalid, .local, .onion, .arpa) fail the
syntax check before any DNS query; test_environment stays off, since it skips DNS entirely.
The cache keeps answers for their TTL and NXDOMAIN / no-data answers for the SOA minimum
(300 s when the answer carries no SOA).

    PY=$(scripts/bench_python_setup.sh | tail -n1)
    $PY scripts/bench_python_stack.py --leads leads.jsonl --dns 127.0.0.1:5353 [--limit N] [--warm]

--leads: JSON Lines, one object a line with keys email, phone, country (ISO 3166 alpha-2
region such as "DE", may be empty). --warm runs the whole list once untimed first (so the
DNS cache is warm) and times the second pass; without it the one timed pass starts with an
empty cache. Only the validation loop is timed (not reading the file or importing).

Prints one JSON line on stdout:
  {"leads", "seconds", "leads_per_s", "email_valid", "email_invalid", "phone_valid",
   "phone_invalid", "disposable", "versions": {...}}
plus these, for checking the run:
  "warm"               whether the timed pass ran on a warm cache
  "email_dns_unknown"  emails counted valid although DNS gave no answer: email-validator
                       lets an address through on a DNS timeout or when every nameserver
                       failed (SERVFAIL, refused), so a wrong --dns shows up here
  "dns_answers"        DNS answers (NOERROR or NXDOMAIN) that came from the server during
                       the timed pass, counted as they are put in the cache: 0 on a warm
                       pass whose answers all came from the cache
"""
import argparse
import importlib.metadata
import ipaddress
import json
import platform
import sys
import time

import dns.resolver
import dns.version
import email_validator
import phonenumbers
from disposable_email_domains import blocklist
from email_validator import EmailNotValidError, caching_resolver, validate_email


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--leads", required=True, help="JSON Lines file: email, phone, country")
    p.add_argument("--dns", required=True, help="the DNS server, IP:PORT (e.g. 127.0.0.1:5353)")
    p.add_argument("--limit", type=int, default=None, help="use only the first N leads")
    p.add_argument("--warm", action="store_true",
                   help="run the list once untimed first, then time the second pass")
    return p.parse_args()


def parse_hostport(text):
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        sys.exit(f"--dns wants IP:PORT, got {text!r}")
    host = host.strip("[]")
    # A benchmark sends its queries to the loopback server it started, never elsewhere.
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        sys.exit(f"--dns must be a loopback IP (the benchmark's own server), got {host!r}")
    return host, int(port)


def field(obj, key):
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def load_leads(path, limit):
    leads = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if limit is not None and len(leads) >= limit:
                break
            line = line.strip()
            if not line:
                continue
            obj = json.loads(line)
            country = field(obj, "country").strip().upper()
            leads.append((field(obj, "email"), field(obj, "phone"), country or None))
    return leads


class CountingLRUCache(dns.resolver.LRUCache):
    """dnspython's LRUCache, counting the answers put in it (one per answered query)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.puts = 0

    def put(self, key, value):
        self.puts += 1
        super().put(key, value)


def make_resolver(ip, port):
    base = dns.resolver.Resolver(configure=False)
    base.nameservers = [ip]
    base.port = port
    # email-validator 2.x: caching_resolver(*, timeout=None, cache=None, dns_resolver=None)
    # sets resolver.cache = cache or LRUCache() and resolver.lifetime = timeout.
    resolver = caching_resolver(timeout=2, cache=CountingLRUCache(), dns_resolver=base)
    assert isinstance(resolver.cache, CountingLRUCache)
    assert resolver.nameservers == [ip] and resolver.port == port and resolver.lifetime == 2
    return resolver


def run(leads, resolver):
    c = {"email_valid": 0, "email_invalid": 0, "phone_valid": 0, "phone_invalid": 0,
         "disposable": 0, "email_dns_unknown": 0}
    for email, phone, region in leads:
        try:
            v = validate_email(email, check_deliverability=True, dns_resolver=resolver)
        except EmailNotValidError:
            c["email_invalid"] += 1
        else:
            c["email_valid"] += 1
            if getattr(v, "mx", None) is None:
                c["email_dns_unknown"] += 1
        if email.rpartition("@")[2].strip().lower() in blocklist:
            c["disposable"] += 1

        try:
            number = phonenumbers.parse(phone, region)
        except phonenumbers.NumberParseException:
            c["phone_invalid"] += 1
        else:
            if phonenumbers.is_valid_number(number):
                c["phone_valid"] += 1
            else:
                c["phone_invalid"] += 1
    return c


def main():
    args = parse_args()
    ip, port = parse_hostport(args.dns)
    leads = load_leads(args.leads, args.limit)
    if not leads:
        sys.exit(f"no leads in {args.leads}")
    resolver = make_resolver(ip, port)

    if args.warm:
        run(leads, resolver)
    resolver.cache.puts = 0
    start = time.perf_counter()
    counts = run(leads, resolver)
    seconds = time.perf_counter() - start

    out = {
        "leads": len(leads),
        "seconds": round(seconds, 6),
        "leads_per_s": round(len(leads) / seconds, 1),
        "email_valid": counts["email_valid"],
        "email_invalid": counts["email_invalid"],
        "phone_valid": counts["phone_valid"],
        "phone_invalid": counts["phone_invalid"],
        "disposable": counts["disposable"],
        "versions": {
            "email_validator": email_validator.__version__,
            "dnspython": dns.version.version,
            "phonenumbers": phonenumbers.__version__,
            "disposable_email_domains": importlib.metadata.version("disposable-email-domains"),
        },
        "warm": args.warm,
        "email_dns_unknown": counts["email_dns_unknown"],
        "dns_answers": resolver.cache.puts,
        "python": platform.python_version(),
    }
    print(json.dumps(out), flush=True)
    if counts["email_dns_unknown"]:
        print(f"warning: {counts['email_dns_unknown']} emails passed without a DNS answer "
              f"(timeout or no nameserver answered): is {args.dns} serving?", file=sys.stderr)


if __name__ == "__main__":
    main()
