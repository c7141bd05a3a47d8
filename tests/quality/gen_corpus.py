#!/usr/bin/env python3
"""Deterministic, labelled prompt corpus for vigie's detection quality test.

Each record is one prompt a customs officer could send to the chatbot, in
French (about two thirds) or English, in one of the usual registers: chat
request, e-mail thread with a signature, formal letter, customs declaration
extract, CSV or Markdown table, log lines, JSON or code with secrets, OCR'd
identity document with its MRZ, classified memo with header and footer
markings. Template slots are filled with generated values:

  * true values, always checksum-correct and "safe" (ARCEP fiction phone
    blocks, example.* domains, Luhn-completed card numbers...), each recorded
    as a gold span {category, start, end, value};
  * hard negatives of the same shape, which must NOT be found (wrong-check
    twins, TARIC codes, legal references, amounts, order numbers, dates that
    are not birth dates, "la DR de Lyon", "secret professionnel"...), each
    recorded as {kind, start, end, value}.

Offsets are BYTE offsets in the UTF-8 text, as the engine reports them; the
generator checks every span and negative round-trips before returning.

Perturbations (no-break spaces, a zero-width space inside a value, full-width
digits, quotes or Markdown code spans around a value, trailing punctuation)
are applied with a fixed probability and listed in the record.

Usage:
  python3 tests/quality/gen_corpus.py --out corpus.jsonl [--seed N] [--n N]
  from gen_corpus import generate; records = generate(seed=3, n=720)

Python 3.11 standard library only. The same seed always gives the same corpus.
The values are synthetic but a random valid NIR, IBAN or card number may
coincide with a real one: keep generated files out of published artefacts.
"""

import argparse
import base64
import json
import random
import re
import sys
import unicodedata

SEED = 3
DEFAULT_N = 900

NBSP = "\u00a0"
NNBSP = "\u202f"
ZWSP = "\u200b"

UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
ALNUM = UPPER + UPPER.lower() + DIGITS
B32 = UPPER + "234567"

# ---------------------------------------------------------------------------
# Check algorithms (also used to assert that twins really fail)


def luhn_ok(digits):
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_complete(partial):
    for c in DIGITS:
        if luhn_ok(partial + c):
            return partial + c
    raise AssertionError("unreachable")


def nir_key(body):
    """Key of a 13-character NIR body; Corsica 2A -> 19, 2B -> 18."""
    dept = {"2A": "19", "2B": "18"}.get(body[5:7], body[5:7])
    return 97 - int(body[:5] + dept + body[7:]) % 97


def nir_ok(compact):
    return (len(compact) == 15 and compact[13:].isdigit()
            and re.fullmatch(r"\d{5}(\d\d|2A|2B)\d{6}", compact[:13]) is not None
            and nir_key(compact[:13]) == int(compact[13:]))


def _alnum_to_digits(s):
    return "".join(str(int(c, 36)) for c in s)


def iban_ok(compact):
    return int(_alnum_to_digits(compact[4:] + compact[:4])) % 97 == 1


def iban_make(cc, bban):
    check = 98 - int(_alnum_to_digits(bban + cc + "00")) % 97
    return "%s%02d%s" % (cc, check, bban)


def rib_key(bank, branch, account):
    table = {}
    for digit, letters in enumerate(["AJ", "BKS", "CLT", "DMU", "ENV", "FOW", "GPX", "HQY", "IRZ"], 1):
        for ch in letters:
            table[ch] = str(digit)
    acc = "".join(table.get(c, c) for c in account)
    return 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(acc)) % 97


def siren_ok(s):
    return len(s) == 9 and s.isdigit() and s != "000000000" and luhn_ok(s)


def siret_ok(s):
    if len(s) != 14 or not s.isdigit():
        return False
    if s.startswith("356000000") and s != "35600000000048":
        return sum(int(c) for c in s) % 5 == 0
    return siren_ok(s[:9]) and luhn_ok(s)


def vat_key(siren):
    return (12 + 3 * (int(siren) % 97)) % 97


def vat_ok(compact):
    return (len(compact) == 13 and compact.startswith("FR") and compact[2:].isdigit()
            and siren_ok(compact[4:]) and int(compact[2:4]) == vat_key(compact[4:]))


def _iso6346_value(ch):
    if ch.isdigit():
        return int(ch)
    v = 10
    for letter in UPPER:
        if v % 11 == 0:
            v += 1
        if letter == ch:
            return v
        v += 1
    raise ValueError(ch)


def iso6346_check(body):
    """ISO 6346 check over body; MRN uses the same weights (pii.md 3.12)."""
    return sum(_iso6346_value(c) << i for i, c in enumerate(body)) % 11 % 10


def mrz_check(field):
    weights = (7, 3, 1)
    total = 0
    for i, c in enumerate(field):
        if c == "<":
            v = 0
        elif c.isdigit():
            v = int(c)
        else:
            v = ord(c) - ord("A") + 10
        total += v * weights[i % 3]
    return str(total % 10)


def canonical(value):
    """[0-9A-Z] only, upper-cased, full-width digits folded, as validators see it."""
    out = []
    for ch in value:
        if "\uff10" <= ch <= "\uff19":
            ch = chr(ord(ch) - 0xFF10 + 0x30)
        if ch.isascii() and ch.isalnum():
            out.append(ch.upper())
    return "".join(out)


# ---------------------------------------------------------------------------
# Value generators. Each returns (display text, canonical form).


def rdigits(rng, n):
    return "".join(rng.choice(DIGITS) for _ in range(n))


def gen_nir_body(rng):
    sex = rng.choice("1212121278")
    yy = "%02d" % rng.randrange(100)
    mm = "%02d" % rng.randint(1, 12)
    r = rng.random()
    if r < 0.12:
        dept = rng.choice(["2A", "2B"])
    elif r < 0.18:
        dept = "97"
    elif r < 0.24:
        dept = "99"
    else:
        dept = "%02d" % rng.choice([d for d in range(1, 96) if d != 20])
    commune = "%03d" % rng.randint(1, 999)
    order = "%03d" % rng.randint(1, 999)
    return sex + yy + mm + dept + commune + order


def fmt_nir(rng, body, key):
    k = "%02d" % key
    r = rng.random()
    if r < 0.5:
        return " ".join([body[0], body[1:3], body[3:5], body[5:7], body[7:10], body[10:13], k])
    if r < 0.8:
        return body + k
    return body + " " + k


def gen_nir(rng):
    body = gen_nir_body(rng)
    return fmt_nir(rng, body, nir_key(body))


def gen_nir_twin(rng):
    body = gen_nir_body(rng)
    key = nir_key(body)
    key = key + 1 if key == 1 or (key < 97 and rng.random() < 0.5) else key - 1
    assert not nir_ok(body + "%02d" % key)
    return fmt_nir(rng, body, key)


def _bban_fr(rng):
    bank = "%05d" % rng.choice([30002, 30003, 30004, 30006, 10278, 20041, 11315, 16606, 18206, 10107])
    branch = rdigits(rng, 5)
    if rng.random() < 0.15:
        account = rdigits(rng, 5) + rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") + rdigits(rng, 5)
    else:
        account = rdigits(rng, 11)
    return bank + branch + account + "%02d" % rib_key(bank, branch, account)


def _be_bban(rng):
    body = rdigits(rng, 10)
    check = int(body) % 97 or 97
    return body + "%02d" % check


def _es_bban(rng):
    bank, branch, account = rdigits(rng, 4), rdigits(rng, 4), rdigits(rng, 10)
    weights = [1, 2, 4, 8, 5, 10, 9, 7, 3, 6]

    def digit(s):
        d = 11 - sum(int(c) * w for c, w in zip(s, weights)) % 11
        return {11: 0, 10: 1}.get(d, d)

    return bank + branch + str(digit("00" + bank + branch)) + str(digit(account)) + account


_IT_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23]


def _it_bban(rng):
    rest = rdigits(rng, 5) + rdigits(rng, 5) + rdigits(rng, 12)
    total = 0
    for i, c in enumerate(rest):
        idx = int(c) if c.isdigit() else ord(c) - ord("A")
        total += _IT_ODD[idx] if i % 2 == 0 else idx
    return UPPER[total % 26] + rest


def _bank_letters(rng):
    return "".join(rng.choice(UPPER) for _ in range(4))


IBAN_BBAN = {
    "FR": _bban_fr,
    "MC": _bban_fr,
    "DE": lambda rng: rdigits(rng, 18),
    "BE": _be_bban,
    "NL": lambda rng: _bank_letters(rng) + rdigits(rng, 10),
    "GB": lambda rng: _bank_letters(rng) + rdigits(rng, 14),
    "ES": _es_bban,
    "IT": _it_bban,
    "LU": lambda rng: rdigits(rng, 16),
    "CH": lambda rng: rdigits(rng, 17),
}


def fmt_iban(rng, compact):
    if rng.random() < 0.65:
        return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))
    return compact


def gen_iban_compact(rng, country=None):
    if country is None:
        country = "FR" if rng.random() < 0.55 else rng.choice(sorted(IBAN_BBAN))
    return iban_make(country, IBAN_BBAN[country](rng))


def gen_iban(rng, country=None):
    return fmt_iban(rng, gen_iban_compact(rng, country))


def gen_iban_twin(rng):
    iban = gen_iban_compact(rng)
    check = int(iban[2:4]) + 1
    twin = iban[:2] + "%02d" % check + iban[4:]
    assert not iban_ok(twin)
    return fmt_iban(rng, twin)


def _card_compact(rng):
    r = rng.random()
    if r < 0.4:
        return luhn_complete("4" + rdigits(rng, 14))
    if r < 0.6:
        return luhn_complete(str(rng.randint(51, 55)) + rdigits(rng, 13))
    if r < 0.7:
        return luhn_complete(str(rng.randint(2221, 2720)) + rdigits(rng, 11))
    if r < 0.85:
        return luhn_complete(rng.choice(["34", "37"]) + rdigits(rng, 12))
    prefix = rng.choice(["6011", "65", "644", "645", "646", "647", "648", "649"])
    return luhn_complete(prefix + rdigits(rng, 15 - len(prefix)))


def fmt_card(rng, pan):
    r = rng.random()
    if len(pan) == 15:
        if r < 0.7:
            return " ".join([pan[:4], pan[4:10], pan[10:]])
        return pan
    groups = [pan[i:i + 4] for i in range(0, len(pan), 4)]
    if r < 0.5:
        return " ".join(groups)
    if r < 0.65:
        return "-".join(groups)
    return pan


def gen_card(rng):
    return fmt_card(rng, _card_compact(rng))


def gen_card_twin(rng):
    pan = _card_compact(rng)
    twin = pan[:-1] + str((int(pan[-1]) + 1) % 10)
    assert not luhn_ok(twin)
    return fmt_card(rng, twin)


def gen_siren_compact(rng):
    return luhn_complete(str(rng.randint(1, 9)) + rdigits(rng, 7))


def gen_siret_compact(rng, allow_la_poste=True):
    if allow_la_poste and rng.random() < 0.05:
        while True:
            head = "356000000" + rdigits(rng, 4)
            for last in DIGITS:
                s = head + last
                if s != "35600000000048" and siret_ok(s) and not luhn_ok(s):
                    return s
    siren = gen_siren_compact(rng)
    nic = "%04d" % rng.choice([1, 1, 1, 2, 3, 10, 12, 25, 37, 100, rng.randint(1, 9999)])
    return luhn_complete(siren + nic)


def fmt_siren(rng, s):
    return " ".join([s[:3], s[3:6], s[6:]]) if rng.random() < 0.7 else s


def fmt_siret(rng, s):
    return " ".join([s[:3], s[3:6], s[6:9], s[9:]]) if rng.random() < 0.6 else s


def gen_siret(rng):
    s = gen_siret_compact(rng)
    assert siret_ok(s)
    return fmt_siret(rng, s)


def gen_siret_twin(rng):
    s = gen_siret_compact(rng, allow_la_poste=False)
    twin = s[:-1] + str((int(s[-1]) + 1) % 10)
    assert not siret_ok(twin)
    return fmt_siret(rng, twin)


def gen_siren(rng):
    return fmt_siren(rng, gen_siren_compact(rng))


def gen_siren_twin(rng):
    s = gen_siren_compact(rng)
    twin = s[:-1] + str((int(s[-1]) + 1) % 10)
    assert not siren_ok(twin)
    return fmt_siren(rng, twin)


def fmt_vat(rng, key, siren):
    r = rng.random()
    if r < 0.5:
        return "FR%02d%s" % (key, siren)
    if r < 0.8:
        return "FR %02d %s %s %s" % (key, siren[:3], siren[3:6], siren[6:])
    return "FR%02d %s" % (key, siren)


def gen_vat(rng):
    siren = gen_siren_compact(rng)
    return fmt_vat(rng, vat_key(siren), siren)


def gen_vat_twin(rng):
    siren = gen_siren_compact(rng)
    key = (vat_key(siren) + 1) % 97
    assert not vat_ok("FR%02d%s" % (key, siren))
    return fmt_vat(rng, key, siren)


def gen_eori(rng):
    return "FR" + gen_siret_compact(rng)


def gen_eori_twin(rng):
    s = gen_siret_compact(rng, allow_la_poste=False)
    twin = s[:-1] + str((int(s[-1]) + 1) % 10)
    assert not siret_ok(twin)
    return "FR" + twin


MRN_COUNTRIES = ["FR"] * 6 + ["DE", "BE", "NL", "IT", "ES", "LU"]
MRN_PROCEDURES = "ABCJKLMRTU"


def _mrn_body(rng):
    yy = "%02d" % rng.randint(18, 25)
    alphabet = DIGITS * 3 + UPPER
    uid = "".join(rng.choice(alphabet) for _ in range(12))
    return yy + rng.choice(MRN_COUNTRIES) + uid + rng.choice(MRN_PROCEDURES)


def gen_mrn(rng):
    body = _mrn_body(rng)
    return body + str(iso6346_check(body))


def gen_mrn_twin(rng):
    body = _mrn_body(rng)
    return body + str((iso6346_check(body) + 1) % 10)


CONTAINER_OWNERS = ["CSQ", "MSK", "MSC", "CMA", "HLX", "TGH", "TCL", "GES", "OOL", "EMC",
                    "APZ", "SEG", "TRL", "BMO", "CAI", "FCI", "HAS", "ZIM", "ONE", "YML"]


def _container_body(rng):
    return rng.choice(CONTAINER_OWNERS) + "U" + rdigits(rng, 6)


def fmt_container(rng, body, check):
    r = rng.random()
    if r < 0.6:
        return body + str(check)
    if r < 0.85:
        return "%s %s %d" % (body[:4], body[4:], check)
    return "%s %s%d" % (body[:4], body[4:], check)


def gen_container(rng):
    body = _container_body(rng)
    return fmt_container(rng, body, iso6346_check(body))


def gen_container_twin(rng):
    body = _container_body(rng)
    return fmt_container(rng, body, (iso6346_check(body) + 1) % 10)


# ARCEP numbers reserved for fiction: 01 99 00, 02 61 91, 03 53 01, 04 65 71,
# 05 36 49, 06 39 98 followed by 4 digits.
PHONE_BLOCKS = ["019900", "026191", "035301", "046571", "053649", "063998"]


def gen_phone_fr(rng):
    national = rng.choice(PHONE_BLOCKS) + rdigits(rng, 4)
    nsn = national[1:]
    pairs = [national[i:i + 2] for i in range(0, 10, 2)]
    r = rng.random()
    if r < 0.30:
        return " ".join(pairs)
    if r < 0.45:
        return ".".join(pairs)
    if r < 0.55:
        return "-".join(pairs)
    if r < 0.63:
        return national
    if r < 0.75:
        return "+33 " + nsn[0] + " " + " ".join(nsn[i:i + 2] for i in range(1, 9, 2))
    if r < 0.83:
        return "+33 (0)" + nsn[0] + " " + " ".join(nsn[i:i + 2] for i in range(1, 9, 2))
    if r < 0.88:
        return "0033 " + nsn[0] + " " + " ".join(nsn[i:i + 2] for i in range(1, 9, 2))
    if r < 0.93:
        return "0033" + nsn
    return "+33" + nsn


def gen_phone_intl(rng):
    r = rng.random()
    if r < 0.4:
        return "+44 7700 900" + rdigits(rng, 3)
    if r < 0.7:
        return "+1 202 555 01" + rdigits(rng, 2)
    return "+49 30 23125 0" + rdigits(rng, 2)


def gen_phone(rng):
    return gen_phone_intl(rng) if rng.random() < 0.15 else gen_phone_fr(rng)


PLATE_LETTERS = [c for c in UPPER if c not in "IOU"]


def _plate_pair(rng):
    while True:
        pair = rng.choice(PLATE_LETTERS) + rng.choice(PLATE_LETTERS)
        if pair != "SS":
            return pair


def fmt_plate(rng, left, num, right):
    r = rng.random()
    if r < 0.65:
        return "%s-%s-%s" % (left, num, right)
    if r < 0.9:
        return "%s %s %s" % (left, num, right)
    return left + num + right


def gen_plate(rng):
    return fmt_plate(rng, _plate_pair(rng), "%03d" % rng.randint(1, 999), _plate_pair(rng))


def gen_plate_twin(rng):
    if rng.random() < 0.5:
        return fmt_plate(rng, "SS", "%03d" % rng.randint(1, 999), _plate_pair(rng))
    return fmt_plate(rng, _plate_pair(rng), "000", _plate_pair(rng))


FIRST_M = ["Jean", "Pierre", "François", "Mathieu", "Karim", "Sébastien", "Thomas", "Julien",
           "Yannick", "Mohamed", "Lucas", "Jean-Pierre", "Hervé", "Benoît", "Noël", "Loïc",
           "Antoine", "Olivier", "Rachid", "Gaël"]
FIRST_F = ["Marie", "Hélène", "Aïcha", "Zoé", "Léa", "Chloé", "Anne-Sophie", "Nathalie",
           "Émilie", "Camille", "Inès", "Fatima", "Manon", "Céline", "Sandrine", "Agnès",
           "Maëlle", "Isabelle", "Françoise", "Océane"]
SURNAMES = ["Dupont", "Martin", "Bernard", "Durand", "Lefèvre", "Moreau", "Le Goff", "Da Silva",
            "Nguyen", "Roux", "Fournier", "Girard", "Lambert", "Bonnet", "Mercier", "Benali",
            "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Chevallier", "Perrin",
            "Morel", "Dupré", "Lemaître", "Haddad", "Kowalski", "Le Bihan", "Boyer", "Caron"]
FIRST_EN_M = ["John", "David", "Michael", "James", "Robert", "Daniel"]
FIRST_EN_F = ["Sarah", "Emily", "Olivia", "Laura", "Rachel", "Grace"]
SURNAMES_EN = ["Smith", "Jones", "Taylor", "Brown", "Evans", "Clarke", "Walker", "Hughes", "Wright"]


def ascii_fold(s):
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


EMAIL_DOMAINS = ["example.fr", "example.com", "example.org", "douane.example.fr",
                 "transit.example.com", "sub.example.org"]


def gen_email(rng, person=None, obfuscate=True):
    if person is None:
        person = Person.random(rng, "fr")
    first, last = person.first.lower(), person.last.lower().replace(" ", "")
    if rng.random() < 0.82:
        first, last = ascii_fold(first), ascii_fold(last)
    r = rng.random()
    if r < 0.45:
        local = first + "." + last
    elif r < 0.6:
        local = first[0] + "." + last
    elif r < 0.7:
        local = first + "_" + last + rdigits(rng, 2)
    elif r < 0.8:
        local = last + "." + first + "+douane"
    elif r < 0.9:
        local = rng.choice(["contact", "service.client", "dedouanement", "compta"])
    else:
        local = first + last[0] + rdigits(rng, 3)
    domain = rng.choice(EMAIL_DOMAINS)
    if obfuscate and rng.random() < 0.05:
        name, _, tld = domain.rpartition(".")
        return "%s [at] %s [dot] %s" % (local, name, tld)
    return local + "@" + domain


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rstr(rng, alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def gen_aws(rng):
    if rng.random() < 0.3:
        return "AKIA" + rstr(rng, B32, 9) + "EXAMPLE"
    return "AKIA" + rstr(rng, B32, 16)


def gen_aws_secret(rng):
    return rstr(rng, ALNUM + "/+", 40)


def gen_ghp(rng):
    return "ghp_" + rstr(rng, ALNUM, 36)


def gen_glpat(rng):
    return "glpat-" + rstr(rng, ALNUM + "_-", 19) + rng.choice(ALNUM)


def gen_slack(rng):
    return "xoxb-%s-%s-%s" % (rdigits(rng, 11), rdigits(rng, 12), rstr(rng, ALNUM, 24))


def gen_google(rng):
    return "AIza" + rstr(rng, ALNUM + "_-", 34) + rng.choice(ALNUM)


def gen_openai(rng):
    return "sk-" + rstr(rng, ALNUM, 20) + "T3BlbkFJ" + rstr(rng, ALNUM, 20)


def gen_jwt(rng):
    header = {"alg": rng.choice(["HS256", "RS256", "HS512"]), "typ": "JWT"}
    payload = {"sub": rdigits(rng, 10), "name": rng.choice(SURNAMES_EN + FIRST_EN_M),
               "iat": rng.randint(1600000000, 1750000000)}
    enc = lambda obj: _b64url(json.dumps(obj, separators=(",", ":")).encode())
    sig = _b64url(bytes(rng.randrange(256) for _ in range(32)))
    return enc(header) + "." + enc(payload) + "." + sig


def gen_bearer(rng):
    return rstr(rng, ALNUM, rng.randint(32, 48)) + rstr(rng, ALNUM + "._-", 4) + rng.choice(ALNUM)


def gen_token(rng):
    return rng.choice([gen_aws, gen_ghp, gen_glpat, gen_slack, gen_google, gen_openai, gen_jwt])(rng)


def gen_private_key(rng):
    kind = rng.choice(["RSA ", "RSA ", "EC ", "OPENSSH ", ""])
    body = base64.b64encode(bytes(rng.randrange(256) for _ in range(48 * rng.randint(3, 6)))).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN %sPRIVATE KEY-----\n%s\n-----END %sPRIVATE KEY-----" % (kind, "\n".join(lines), kind)


PASSWORD_PUNCT = "!#$%&*+-=?@_"


def gen_password_value(rng):
    while True:
        n = rng.randint(10, 16)
        pw = rng.choice(ALNUM) + rstr(rng, ALNUM * 2 + PASSWORD_PUNCT, n - 2) + rng.choice(ALNUM)
        if any(c.isdigit() for c in pw) and any(c.isalpha() for c in pw):
            return pw


MARKINGS = {
    "marking.classification": ["SECRET", "TRÈS SECRET", "CONFIDENTIEL DÉFENSE", "Confidentiel Défense",
                               "SECRET DÉFENSE", "TRÈS SECRET DÉFENSE", "Secret Défense"],
    "marking.protection": ["DIFFUSION RESTREINTE", "Diffusion Restreinte", "SPÉCIAL FRANCE", "DR-SF"],
    "marking.foreign": ["NATO RESTRICTED", "NATO CONFIDENTIAL", "NATO SECRET", "RESTREINT UE",
                        "RESTREINT UE/EU RESTRICTED", "EU RESTRICTED", "CONFIDENTIEL UE/EU CONFIDENTIAL"],
}


def gen_marking(rng, category=None):
    if category is None:
        category = rng.choice(["marking.classification", "marking.protection", "marking.protection",
                               "marking.foreign"])
    text = rng.choice(MARKINGS[category])
    if rng.random() < 0.15:
        text = ascii_fold(text)  # stamps retyped without accents
    return text, category


CITIES = [("75011", "Paris"), ("75015", "Paris"), ("69003", "Lyon"), ("13002", "Marseille"),
          ("59000", "Lille"), ("33000", "Bordeaux"), ("31000", "Toulouse"), ("67000", "Strasbourg"),
          ("44000", "Nantes"), ("76600", "Le Havre"), ("20000", "Ajaccio"), ("06000", "Nice"),
          ("97400", "Saint-Denis"), ("95700", "Roissy-en-France"), ("35000", "Rennes"),
          ("29200", "Brest"), ("62100", "Calais"), ("34000", "Montpellier")]
STREET_TYPES = ["rue", "rue", "avenue", "boulevard", "allée", "place", "chemin", "impasse", "quai",
                "route", "cours"]
STREET_NAMES = ["des Lilas", "Victor Hugo", "de la République", "Jean Jaurès", "du Port", "des Acacias",
                "Pasteur", "de la Gare", "du Général de Gaulle", "des Tanneurs", "Émile Zola",
                "de la Liberté", "des Docks", "Saint-Michel", "du Moulin"]


def gen_address(rng, multiline=False):
    num = str(rng.randint(1, 180))
    if rng.random() < 0.12:
        num += rng.choice([" bis", " ter"])
    street = "%s %s %s" % (num, rng.choice(STREET_TYPES), rng.choice(STREET_NAMES))
    cp, city = rng.choice(CITIES)
    if multiline:
        return "%s\n%s %s" % (street, cp, city.upper() if rng.random() < 0.5 else city)
    sep = ", " if rng.random() < 0.8 else " "
    return street + sep + cp + " " + city


def gen_postcode(rng):
    cp, city = rng.choice(CITIES)
    return cp + " " + city


MONTHS_FR = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
             "octobre", "novembre", "décembre"]
MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December"]


def _birth(rng):
    return rng.randint(1940, 2005), rng.randint(1, 12), rng.randint(1, 28)


def fmt_date(rng, y, m, d, lang):
    r = rng.random()
    if r < 0.45:
        return "%02d/%02d/%d" % (d, m, y)
    if r < 0.55:
        return "%02d.%02d.%d" % (d, m, y)
    if r < 0.65:
        return "%d-%02d-%02d" % (y, m, d)
    if lang == "fr":
        return "%s %s %d" % ("1er" if d == 1 else str(d), MONTHS_FR[m - 1], y)
    if rng.random() < 0.5:
        return "%s %d, %d" % (MONTHS_EN[m - 1], d, y)
    return "%d %s %d" % (d, MONTHS_EN[m - 1], y)


def gen_dob(rng, lang):
    return fmt_date(rng, *_birth(rng), lang)


def gen_passport(rng):
    return rdigits(rng, 2) + rstr(rng, UPPER, 2) + rdigits(rng, 5)


def gen_idcard(rng):
    if rng.random() < 0.6:
        return "%02d%02d%03d%05d" % (rng.randint(95, 99) if rng.random() < 0.3 else rng.randint(0, 20),
                                      rng.randint(1, 12), rng.randint(10, 976), rng.randrange(100000))
    return rstr(rng, "ABCDEFGHJKLMNPRSTUVWXYZ0123456789", 9)


def gen_licence(rng):
    if rng.random() < 0.5:
        return rdigits(rng, 2) + rstr(rng, UPPER, 2) + rdigits(rng, 5)
    return rdigits(rng, 12)


def gen_bic(rng):
    loc = rng.choice("23456789ABCDEFGHJKLMNPQRSTUVWXYZ") + rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789")
    bic = _bank_letters(rng) + "FR" + loc
    r = rng.random()
    if r < 0.4:
        bic += "XXX"
    elif r < 0.6:
        bic += rdigits(rng, 3)
    return bic


def gen_gps(rng):
    lat = rng.uniform(42.0, 51.0)
    lon = rng.uniform(-4.5, 8.0)
    if rng.random() < 0.75:
        return "%.6f, %.6f" % (lat, lon)

    def dms(v):
        v = abs(v)
        d = int(v)
        m = int((v - d) * 60)
        s = int(((v - d) * 60 - m) * 60)
        return d, m, s

    (a, b, c), (e, f, g) = dms(lat), dms(lon)
    return "%d°%02d'%02d\"N %d°%02d'%02d\"%s" % (a, b, c, e, f, g, "E" if lon >= 0 else "W")


def gen_ip(rng):
    r = rng.random()
    if r < 0.25:
        return "192.0.2.%d" % rng.randint(1, 254)
    if r < 0.45:
        return "198.51.100.%d" % rng.randint(1, 254)
    if r < 0.65:
        return "203.0.113.%d" % rng.randint(1, 254)
    if r < 0.8:
        return "10.%d.%d.%d" % (rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254))
    return "2001:db8::%x:%x" % (rng.randint(1, 0xffff), rng.randint(1, 0xffff))


# ---------------------------------------------------------------------------
# Hard-negative shapes


def neg_taric(rng):
    code = rng.choice(["8471", "8703", "6403", "0901", "0402", "2204", "8517", "6110", "3004", "9018"])
    sub = rdigits(rng, 2) + rdigits(rng, 2) + rdigits(rng, 2)
    r = rng.random()
    if r < 0.35:
        return "%s %s %s %s" % (code, sub[:2], sub[2:4], sub[4:])
    if r < 0.55:
        return "%s.%s.%s" % (code, sub[:2], sub[2:4])
    if r < 0.8:
        return code + sub
    if r < 0.9:
        return code + sub[:4]
    return code + sub[:2]


def neg_article(rng, lang):
    if lang == "en":
        return rng.choice(["Article 414 of the French Customs Code", "Article 60 of the Customs Code",
                           "Regulation (EU) No 952/2013", "Article 77 UCC", "section 3.2.1.1",
                           "Art. L. 236-1"])
    return rng.choice(["article 414 du code des douanes", "article 60 du code des douanes",
                       "l'art. L. 236-1", "l'article R. 2311-2 du code de la défense",
                       "le § 3.2.1.1", "le règlement (UE) n° 952/2013",
                       "l'article 369 du code des douanes", "le décret n° 2019-1271"])


def neg_amount(rng):
    euros = rng.randint(100, 999999)
    cents = rng.randrange(100)
    grouped = "{:,}".format(euros).replace(",", rng.choice([" ", NNBSP, NBSP]))
    r = rng.random()
    if r < 0.6:
        return "%s,%02d €" % (grouped, cents)
    if r < 0.8:
        return "EUR %d.%02d" % (euros, cents)
    return "%s €" % grouped


def neg_weight(rng):
    kg = rng.randint(1000, 99999)
    return "{:,}".format(kg).replace(",", " ") + rng.choice([" kg", " kg", " t"])


def neg_order(rng):
    return "%s-%d-%06d" % (rng.choice(["CMD", "FAC", "BL", "PO"]), rng.randint(2019, 2025), rng.randrange(1000000))


def neg_order15(rng):
    while True:
        s = rng.choice("12") + rdigits(rng, 14)
        if not nir_ok(s):
            return s


def neg_date(rng, lang):
    y, m, d = rng.randint(2019, 2025), rng.randint(1, 12), rng.randint(1, 28)
    return fmt_date(rng, y, m, d, lang)


def neg_version(rng):
    return "%d.%d.%d.%d" % (rng.randint(1, 9), rng.randint(0, 20), rng.randint(0, 9), rng.randint(0, 99))


def neg_office(rng):
    return "FR%06d" % rng.randrange(1000000)


def neg_excise(rng):
    return "FR0%02d%03d%s%04d" % (rng.randint(10, 99), rng.randint(1, 999), rng.choice("ENCB"), rng.randrange(10000))


def neg_tracking(rng):
    return "1Z" + rstr(rng, UPPER + DIGITS, 6) + rdigits(rng, 10)


def neg_ean(rng):
    body = "3" + rdigits(rng, 11)
    check = (10 - sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body)) % 10) % 10
    return body + str(check)


NEG_SHAPES = {
    "nir_twin": gen_nir_twin,
    "iban_twin": gen_iban_twin,
    "card_twin": gen_card_twin,
    "siret_twin": gen_siret_twin,
    "siren_twin": gen_siren_twin,
    "vat_twin": gen_vat_twin,
    "eori_twin": gen_eori_twin,
    "mrn_twin": gen_mrn_twin,
    "container_twin": gen_container_twin,
    "plate_twin": gen_plate_twin,
    "taric": neg_taric,
    "amount": neg_amount,
    "weight": neg_weight,
    "order": neg_order,
    "order15": neg_order15,
    "version": neg_version,
    "office_code": neg_office,
    "excise": neg_excise,
    "tracking": neg_tracking,
    "ean": neg_ean,
    "form_word": lambda rng: rng.choice(["DECLARATION", "TRANSITAIRE", "DOUANIER", "DESTINATAIRE",
                                         "EXPEDITEUR"]),
    "form_word_en": lambda rng: rng.choice(["DECLARATION", "CUSTOMER", "BUSINESS", "CONSIGNEE"]),
    "dr_regional": lambda rng: "DR",
    "secret_legal": lambda rng: rng.choice(["secret professionnel", "secret des affaires",
                                            "secret fiscal", "secret statistique"]),
}

# Sentences carrying a hard negative; [v] is the negative's place. The
# lead-in words are the context words a detector may look for, on purpose.
NEG_FR = {
    "nir_twin": ["le numéro de sécurité sociale [v] a été refusé par le téléservice",
                 "le NIR saisi ([v]) ne passe pas le contrôle de clé"],
    "iban_twin": ["le virement vers l'IBAN [v] a été rejeté",
                  "le RIB transmis ([v]) comporte une faute de frappe"],
    "card_twin": ["la carte bancaire [v] a été refusée par le terminal",
                  "le numéro de carte [v] est invalide"],
    "siret_twin": ["le SIRET [v] est introuvable dans Sirene"],
    "siren_twin": ["le SIREN [v] n'existe pas au RCS"],
    "vat_twin": ["le numéro de TVA intracommunautaire [v] est rejeté par VIES"],
    "eori_twin": ["le numéro EORI [v] n'est pas reconnu"],
    "mrn_twin": ["le MRN [v] est inconnu de DELTA"],
    "container_twin": ["le conteneur [v] ne figure pas au manifeste"],
    "plate_twin": ["la plaque [v] relevée par la patrouille est une fausse immatriculation"],
    "taric": ["la marchandise relève du code TARIC [v]", "la position tarifaire [v] a été retenue",
              "le code NC [v] figure en case 33"],
    "article": ["l'infraction est prévue par [v]", "voir [v]"],
    "amount": ["le montant déclaré s'élève à [v]", "les droits liquidés sont de [v]"],
    "weight": ["le poids brut est de [v]"],
    "order": ["la commande [v] est toujours en attente", "la facture [v] reste impayée"],
    "order15": ["le bon de commande n° [v] est joint"],
    "date": ["la facture du [v] reste impayée", "la déclaration a été acceptée le [v]",
             "l'échéance est fixée au [v]"],
    "version": ["le poste de l'agent est en version [v]"],
    "office_code": ["le bureau de dédouanement [v] est compétent"],
    "excise": ["le numéro d'accise [v] est valide"],
    "tracking": ["le colis [v] est en transit"],
    "ean": ["le code-barres EAN [v] est illisible"],
    "form_word": ["la case « [v] » du formulaire n'est pas remplie"],
    "dr_regional": ["le dossier est suivi par la [v] de Lyon", "la [v] de Roissy a été informée"],
    "secret_legal": ["ces informations sont couvertes par le [v]"],
}
NEG_EN = {
    "nir_twin": ["the social security number [v] was rejected"],
    "iban_twin": ["the transfer to IBAN [v] bounced"],
    "card_twin": ["card number [v] was declined"],
    "siret_twin": ["SIRET [v] is not in the register"],
    "vat_twin": ["VAT number [v] fails the VIES check"],
    "eori_twin": ["EORI [v] is unknown"],
    "mrn_twin": ["MRN [v] cannot be found"],
    "container_twin": ["container [v] is not on the manifest"],
    "taric": ["the goods fall under TARIC code [v]", "the HS code [v] was used"],
    "article": ["see [v]", "the penalty is set by [v]"],
    "amount": ["the declared value is [v]"],
    "weight": ["gross mass is [v]"],
    "order": ["order [v] is still pending", "invoice [v] is unpaid"],
    "order15": ["purchase order no. [v] is attached"],
    "date": ["the invoice dated [v] is unpaid", "the declaration was accepted on [v]"],
    "version": ["the client runs version [v]"],
    "tracking": ["parcel [v] is in transit"],
    "form_word_en": ["the box \"[v]\" on the form is empty"],
    "secret_legal": ["the French notion of [v] applies"],
}


# ---------------------------------------------------------------------------
# Rendering


class Person:
    def __init__(self, first, last, female):
        self.first, self.last, self.female = first, last, female

    @staticmethod
    def random(rng, lang):
        female = rng.random() < 0.5
        if lang == "en" and rng.random() < 0.6:
            return Person(rng.choice(FIRST_EN_F if female else FIRST_EN_M), rng.choice(SURNAMES_EN), female)
        return Person(rng.choice(FIRST_F if female else FIRST_M), rng.choice(SURNAMES), female)


class Prompt:
    """Builds one prompt, keeping byte offsets of every gold span and negative."""

    def __init__(self, rng, lang, register, structured):
        self.rng, self.lang, self.register, self.structured = rng, lang, register, structured
        self.parts, self.nbytes = [], 0
        self.spans, self.negatives, self.perturbations = [], [], []
        self.people = [Person.random(rng, lang) for _ in range(3)]
        self.marking = None

    def text(self, s):
        self.parts.append(s)
        self.nbytes += len(s.encode("utf-8"))

    def _perturb(self, category, value):
        rng, kinds = self.rng, []
        numeric = category in ("contact.phone", "finance.iban", "identity.nir", "finance.card",
                               "company.siret", "company.siren", "company.vat")
        if numeric and " " in value and rng.random() < 0.15:
            sep = rng.choice([NBSP, NNBSP])
            value = value.replace(" ", sep)
            kinds.append("nbsp" if sep == NBSP else "nnbsp")
        if category == "contact.phone" and value[:1] in "0+" and rng.random() < 0.06:
            value = "".join(chr(0xFF10 + int(c)) if c.isdigit() else c for c in value)
            kinds.append("fullwidth")
        if (numeric or category == "contact.email") and rng.random() < 0.05:
            spots = [i for i in range(1, len(value)) if value[i - 1].isalnum() and value[i].isalnum()]
            if spots:
                i = rng.choice(spots)
                value = value[:i] + ZWSP + value[i:]
                kinds.append("zwsp")
        return value, kinds

    def gold(self, category, value, perturb=True):
        kinds = []
        if perturb:
            value, kinds = self._perturb(category, value)
        pre = post = ""
        if perturb and not self.structured and "\n" not in value:
            r = self.rng.random()
            if r < 0.04:
                pre, post = "`", "`"
                kinds.append("code_span")
            elif r < 0.08:
                pre, post = rng_choice_quotes(self.rng, self.lang)
                kinds.append("quotes")
            elif r < 0.12 and category != "secret.password":
                post = self.rng.choice([".", ",", ";", ")"])
                if post == ")":
                    pre = "("
                kinds.append("trailing_punct")
        self.text(pre)
        start = self.nbytes
        self.text(value)
        self.spans.append({"category": category, "start": start, "end": self.nbytes, "value": value})
        self.text(post)
        for k in kinds:
            self.perturbations.append({"kind": k, "span": len(self.spans) - 1})

    def neg(self, kind, value):
        start = self.nbytes
        self.text(value)
        self.negatives.append({"kind": kind, "start": start, "end": self.nbytes, "value": value})

    def record(self, ident):
        text = "".join(self.parts)
        raw = text.encode("utf-8")
        for s in self.spans:
            assert raw[s["start"]:s["end"]].decode("utf-8") == s["value"], (ident, s)
        for n in self.negatives:
            assert raw[n["start"]:n["end"]].decode("utf-8") == n["value"], (ident, n)
        assert "\0" not in text
        return {"id": ident, "lang": self.lang, "register": self.register, "text": text,
                "spans": self.spans, "negatives": self.negatives, "perturbations": self.perturbations}


def rng_choice_quotes(rng, lang):
    if lang == "fr":
        return rng.choice([("« ", " »"), ("\"", "\""), ("«", "»")])
    return rng.choice([("\"", "\""), ("'", "'")])


# Slot handlers: each writes text, gold spans and negatives into the prompt.

def _name_text(p, person, style):
    if style == "upper_last":
        return "%s %s" % (person.first, person.last.upper())
    if style == "last_first":
        return "%s %s" % (person.last.upper(), person.first)
    return "%s %s" % (person.first, person.last)


def slot_tname(p, idx=0):
    """Title + name; the gold span is the name only."""
    person = p.people[idx]
    rng = p.rng
    if p.lang == "en":
        title = rng.choice(["Ms" if person.female else "Mr", "Mrs" if person.female else "Mr", "Dr"])
    else:
        title = rng.choice(["Mme" if person.female else "M.", "Madame" if person.female else "Monsieur",
                            "Maître", "Me", "Dr"])
    if title == "Dr":
        # "Dr Martin" is a person, never the marking "DR" (Diffusion Restreinte).
        p.neg("dr_title", "Dr")
        p.text(" ")
    else:
        p.text(title + " ")
    style = rng.choice(["plain", "upper_last", "last_only"])
    if style == "last_only":
        p.gold("identity.person_name", person.last, perturb=False)
    else:
        p.gold("identity.person_name", _name_text(p, person, style), perturb=False)


def slot_name(p, idx=0, style=None):
    person = p.people[idx]
    style = style or p.rng.choice(["plain", "upper_last", "upper_last", "last_first"])
    p.gold("identity.person_name", _name_text(p, person, style), perturb=False)


def slot_email(p, idx=None):
    person = p.people[idx] if idx is not None else (p.people[0] if p.rng.random() < 0.6 else None)
    # "nom [at] domaine [dot] fr" is written by people, not found in logs or tables.
    p.gold("contact.email", gen_email(p.rng, person, obfuscate=not p.structured))


def slot_password(p):
    rng = p.rng
    if p.lang == "fr":
        lead = rng.choice(["mot de passe : ", "mot de passe: ", "mdp : ", "MDP=", "mot de passe est ",
                           "password: "])
    else:
        lead = rng.choice(["password: ", "password is ", "pwd=", "Password : "])
    p.text(lead)
    p.gold("secret.password", gen_password_value(rng), perturb=False)


def slot_neg(p, pool=None):
    rng = p.rng
    table = NEG_FR if p.lang == "fr" else NEG_EN
    kind = pool or rng.choice(sorted(table))
    before, after = rng.choice(table[kind]).split("[v]")
    last = "".join(p.parts[-1:])
    if not last or last.endswith(("\n", ". ", "- ")):
        before = before[:1].upper() + before[1:]
    p.text(before)
    neg_value(p, kind)
    p.text(after)


def neg_value(p, kind):
    rng = p.rng
    if kind == "article":
        p.neg(kind, neg_article(rng, p.lang))
    elif kind == "date":
        p.neg(kind, neg_date(rng, p.lang))
    else:
        value = NEG_SHAPES[kind](rng)
        p.neg(kind, value)


def slot_mark(p, where):
    """Memo header/footer: the same marking at the top and at the bottom."""
    rng = p.rng
    if p.marking is None:
        if rng.random() < 0.2:
            p.marking = [("DIFFUSION RESTREINTE", "marking.protection"),
                         ("SPÉCIAL FRANCE", "marking.protection")]
        else:
            p.marking = [gen_marking(rng)]
    parts = p.marking
    if where == "head" and rng.random() < 0.3:
        # The label names what the marking is: a classification level is not a
        # "mention de protection" (IGI 1300).
        if p.lang == "en":
            p.text(rng.choice(["Classification: ", "Marking: "]))
        elif parts[0][1] == "marking.protection":
            p.text(rng.choice(["Mention de protection : ", "Mention : "]))
        else:
            p.text(rng.choice(["Classification : ", "Niveau de classification : ", "Marquage : "]))
    if where == "foot" and rng.random() < 0.4:
        p.text("Page 1/1 – " if p.lang == "fr" else "Page 1 of 1 - ")
    for i, (text, cat) in enumerate(parts):
        if i:
            p.text(" – ")
        p.gold(cat, text, perturb=False)


def slot_mrz_td3(p):
    """OCR'd passport: visual zone and two 44-character MRZ lines, consistent."""
    rng, person = p.rng, p.people[0]
    y, m, d = _birth(rng)
    docnum = gen_passport(rng)
    sex = "F" if person.female else "M"
    exp = "%02d%02d%02d" % (rng.randint(26, 34), rng.randint(1, 12), rng.randint(1, 28))
    dob = "%02d%02d%02d" % (y % 100, m, d)
    sur = re.sub(r"[^A-Z]", "<", ascii_fold(person.last).upper())
    given = re.sub(r"[^A-Z]", "<", ascii_fold(person.first).upper())
    line1 = ("P<FRA" + sur + "<<" + given).ljust(44, "<")[:44]
    personal = "<" * 14
    part = docnum + mrz_check(docnum) + "FRA" + dob + mrz_check(dob) + sex + exp + mrz_check(exp) \
        + personal + "0"
    composite = part[0:10] + part[13:20] + part[21:43]
    line2 = part + mrz_check(composite)
    assert len(line2) == 44
    lbl = p.lang == "fr"
    p.text("RÉPUBLIQUE FRANÇAISE  PASSEPORT\n" if lbl else "FRENCH REPUBLIC  PASSPORT\n")
    p.text("Type P   Code FRA   N° " if lbl else "Type P   Code FRA   No. ")
    p.gold("identity.passport", docnum, perturb=False)
    p.text("\nNom/Surname : ")
    p.gold("identity.person_name", person.last.upper(), perturb=False)
    p.text("\nPrénoms/Given names : ")
    p.gold("identity.person_name", person.first, perturb=False)
    p.text("\nDate de naissance/Date of birth : ")
    p.gold("identity.birth_date", "%02d %02d %d" % (d, m, y), perturb=False)
    p.text("\n\n")
    p.gold("identity.mrz", line1, perturb=False)
    p.text("\n")
    p.gold("identity.mrz", line2, perturb=False)


def slot_mrz_cni(p):
    """OCR'd old national ID card (36-character lines)."""
    rng, person = p.rng, p.people[0]
    y, m, d = _birth(rng)
    dept = "%02d" % rng.choice([13, 33, 59, 69, 75, 92, 93, 94])
    office = dept + rdigits(rng, 1)
    number = "%02d%02d" % (rng.randint(5, 20), rng.randint(1, 12)) + office + rdigits(rng, 5)
    sur = re.sub(r"[^A-Z]", "<", ascii_fold(person.last).upper())
    given = re.sub(r"[^A-Z]", "<", ascii_fold(person.first).upper())
    line1 = ("IDFRA" + sur).ljust(30, "<")[:30] + (dept + "0" + rdigits(rng, 3))
    dob = "%02d%02d%02d" % (y % 100, m, d)
    body = number + mrz_check(number) + given.ljust(14, "<")[:14] + dob + mrz_check(dob) \
        + ("F" if person.female else "M")
    line2 = body + mrz_check(line1 + body)
    assert len(line1) == 36 and len(line2) == 36
    p.text("CARTE NATIONALE D'IDENTITÉ N° : " if p.lang == "fr" else "NATIONAL IDENTITY CARD No: ")
    p.gold("identity.id_card", number, perturb=False)
    p.text("\nNom : ")
    p.gold("identity.person_name", person.last.upper(), perturb=False)
    p.text("\nPrénom(s) : ")
    p.gold("identity.person_name", person.first, perturb=False)
    p.text("\nNé(e) le : " if p.lang == "fr" else "\nBorn: ")
    p.gold("identity.birth_date", "%02d.%02d.%d" % (d, m, y), perturb=False)
    p.text("\n")
    p.gold("identity.mrz", line1, perturb=False)
    p.text("\n")
    p.gold("identity.mrz", line2, perturb=False)


def _simple(category, fn, perturb=True):
    return lambda p: p.gold(category, fn(p.rng), perturb)


SLOTS = {
    "NIR": _simple("identity.nir", gen_nir),
    "IBAN": _simple("finance.iban", gen_iban),
    "IBAN_FR": lambda p: p.gold("finance.iban", gen_iban(p.rng, "FR")),
    "IBAN_X": lambda p: p.gold("finance.iban", gen_iban(p.rng, p.rng.choice(
        ["DE", "BE", "NL", "GB", "ES", "IT", "LU", "MC", "CH"]))),
    "CARD": _simple("finance.card", gen_card),
    "SIRET": _simple("company.siret", gen_siret),
    "SIREN": _simple("company.siren", gen_siren),
    "VAT": _simple("company.vat", gen_vat),
    "EORI": _simple("company.eori", gen_eori, perturb=False),
    "MRN": _simple("customs.mrn", gen_mrn),
    "CONTAINER": _simple("customs.container", gen_container),
    "PHONE": _simple("contact.phone", gen_phone),
    "PHONE_FR": _simple("contact.phone", gen_phone_fr),
    "PHONE_INTL": _simple("contact.phone", gen_phone_intl),
    "PLATE": _simple("vehicle.plate", gen_plate),
    "EMAIL": slot_email,
    "EMAIL2": lambda p: slot_email(p, 1),
    "AWS": _simple("secret.token", gen_aws, perturb=False),
    "AWSSECRET": _simple("secret.token", gen_aws_secret, perturb=False),
    "GHP": _simple("secret.token", gen_ghp, perturb=False),
    "GLPAT": _simple("secret.token", gen_glpat, perturb=False),
    "SLACK": _simple("secret.token", gen_slack, perturb=False),
    "GOOGLE": _simple("secret.token", gen_google, perturb=False),
    "OPENAI": _simple("secret.token", gen_openai, perturb=False),
    "JWT": _simple("secret.token", gen_jwt, perturb=False),
    "BEARER": _simple("secret.token", gen_bearer, perturb=False),
    "TOKEN": _simple("secret.token", gen_token, perturb=False),
    "PRIVKEY": _simple("secret.private_key", gen_private_key, perturb=False),
    "PASSWORD": slot_password,
    "PWVAL": _simple("secret.password", gen_password_value, perturb=False),
    "MARK_HEAD": lambda p: slot_mark(p, "head"),
    "MARK_FOOT": lambda p: slot_mark(p, "foot"),
    "MARK_CLS": lambda p: p.gold("marking.classification", gen_marking(p.rng, "marking.classification")[0], False),
    "MARK_PROT": lambda p: p.gold("marking.protection", gen_marking(p.rng, "marking.protection")[0], False),
    "MARK_FOR": lambda p: p.gold("marking.foreign", gen_marking(p.rng, "marking.foreign")[0], False),
    "TNAME": slot_tname,
    "TNAME2": lambda p: slot_tname(p, 1),
    "NAME": slot_name,
    "NAME2": lambda p: slot_name(p, 1),
    "SIGNAME": lambda p: slot_name(p, 2, "plain"),
    "NAME_UPPER": lambda p: slot_name(p, 0, "upper_last"),
    "SURNAME_U": lambda p: p.gold("identity.person_name", Person.random(p.rng, p.lang).last.upper(), False),
    "FIRST": lambda p: p.gold("identity.person_name", Person.random(p.rng, p.lang).first, False),
    "DRNAME": lambda p: (p.neg("dr_title", "Dr"), p.text(" "),
                         p.gold("identity.person_name", p.rng.choice(SURNAMES), False)),
    "ADDRESS": lambda p: p.gold("place.address", gen_address(p.rng), False),
    "ADDRESS_ML": lambda p: p.gold("place.address", gen_address(p.rng, multiline=True), False),
    "POSTCODE": lambda p: p.gold("place.postcode", gen_postcode(p.rng), False),
    "DOB": lambda p: p.gold("identity.birth_date", gen_dob(p.rng, p.lang), False),
    "PASSPORT": _simple("identity.passport", gen_passport, perturb=False),
    "IDCARD": _simple("identity.id_card", gen_idcard, perturb=False),
    "LICENCE": _simple("identity.driving_licence", gen_licence, perturb=False),
    "BIC": _simple("finance.bic", gen_bic, perturb=False),
    "GPS": _simple("place.gps", gen_gps, perturb=False),
    "IP": _simple("network.ip", gen_ip, perturb=False),
    "MRZ_TD3": slot_mrz_td3,
    "MRZ_CNI": slot_mrz_cni,
    "NEG": slot_neg,
}
for _kind in set(NEG_SHAPES) | {"article", "date"}:
    SLOTS["N_" + _kind] = (lambda k: lambda p: neg_value(p, k))(_kind)
for _kind in set(NEG_FR) | set(NEG_EN):
    SLOTS["NEG_" + _kind] = (lambda k: lambda p: slot_neg(p, k))(_kind)


# ---------------------------------------------------------------------------
# Templates: (register, structured, text). [[SLOT]] marks a slot. In a
# structured template (table, JSON, log, code) values are not wrapped in
# quotes or followed by added punctuation.

TEMPLATES_FR = [
    ("chat", False,
     "Peux-tu résumer ce dossier en trois lignes ? L'importateur, [[TNAME]], né le [[DOB]], domicilié "
     "[[ADDRESS]], a déclaré le conteneur [[CONTAINER]] sous le MRN [[MRN]]. Remarque : [[NEG]]."),
    ("chat", False,
     "Rédige un courriel de relance poli à [[TNAME]] ([[EMAIL]], tél. [[PHONE]]) au sujet de la "
     "facture [[N_order]] du [[N_date]]. Montant restant dû : [[N_amount]]."),
    ("chat", False,
     "Peux-tu vérifier si cet IBAN est correct : [[IBAN]] ? Le titulaire du compte est [[NAME]] et "
     "le BIC indiqué est [[BIC]]. Par ailleurs, [[NEG]]."),
    ("chat", False,
     "Un voyageur a réglé l'amende de [[N_amount]] avec la carte bancaire [[CARD]]. Prépare le reçu "
     "au nom de [[TNAME]], joignable au [[PHONE]]."),
    ("chat", False,
     "Traduis en anglais : « Le déclarant, [[NAME]], numéro de sécurité sociale [[NIR]], demeurant "
     "[[ADDRESS]], conteste la liquidation des droits. »"),
    ("chat", False,
     "Quelle procédure pour la société Atlantique Fret SAS (SIRET [[SIRET]], TVA intracommunautaire "
     "[[VAT]], EORI [[EORI]]) qui veut passer en dédouanement centralisé ? Au fait, [[NEG]]."),
    ("chat", False,
     "Le véhicule immatriculé [[PLATE]] a été contrôlé au péage ; le conducteur, [[TNAME]], présente "
     "le permis de conduire n° [[LICENCE]]. Rédige le procès-verbal. [[NEG_dr_regional]]."),
    ("chat", False,
     "Mon script d'import vers l'API plante. Voici la config :\naws_access_key_id = [[AWS]]\n"
     "aws_secret_access_key = [[AWSSECRET]]\nTu vois le problème ?"),
    ("chat", False,
     "Je n'arrive plus à me connecter au portail, mon identifiant est [[EMAIL]] et mon [[PASSWORD]]. "
     "Explique-moi la procédure de réinitialisation."),
    ("chat", False,
     "Quel est le classement tarifaire d'un ordinateur portable ? J'hésite entre [[N_taric]] et "
     "[[N_taric]] ; voir [[N_article]]. Le client, [[TNAME]], attend la réponse au [[PHONE]]."),
    ("chat", False,
     "Fais un tableau des conteneurs [[CONTAINER]], [[CONTAINER]] et [[CONTAINER]], arrivés au Havre "
     "le [[N_date]] (poids total [[N_weight]]), avec pour chacun le MRN : [[MRN]], [[MRN]], [[MRN]]."),
    ("chat", False,
     "Traduis ce message pour le transitaire : « Merci de contacter [[TNAME]] au [[PHONE_INTL]] ou par "
     "courriel à [[EMAIL]]. Le camion [[PLATE]] arrivera demain. »"),
    ("chat", False,
     "Corrige l'orthographe : « la société dont le SIREN est [[SIREN]] a déposé la déclaration [[MRN]] "
     "pour le compte de [[TNAME]]. [[NEG]]. »"),
    ("chat", False,
     "Résume ce courrier en une phrase : « Suite à notre échange, je vous confirme que mon numéro de "
     "sécu est le [[NIR]] et mon IBAN [[IBAN_FR]]. [[NEG_nir_twin]], d'où ce nouvel envoi. »"),
    ("email", False,
     "Objet : RE: Dédouanement [[MRN]]\n\nBonjour [[TNAME]],\n\nJe vous confirme la mainlevée de la "
     "déclaration pour le conteneur [[CONTAINER]]. [[NEG]].\n\nCordialement,\n[[SIGNAME]]\n"
     "Bureau de douane de Roissy\nTél. : [[PHONE]]\nCourriel : [[EMAIL2]]"),
    ("email", False,
     "De : [[EMAIL]]\nÀ : [[EMAIL2]]\nObjet : Coordonnées bancaires pour remboursement\n\nBonjour,\n\n"
     "Veuillez trouver ci-dessous notre RIB :\nIBAN : [[IBAN_FR]]\nBIC : [[BIC]]\nTitulaire : "
     "[[NAME_UPPER]]\n\nPar ailleurs, [[NEG]].\n\nBien à vous,\n[[SIGNAME]]\n[[PHONE]]"),
    ("email", False,
     "---------- Message transféré ----------\nDe : [[TNAME]] <[[EMAIL]]>\nDate : [[N_date]]\n"
     "Objet : conteneur bloqué\n\nLe conteneur [[CONTAINER]] est retenu depuis lundi ; la déclaration "
     "[[MRN]] est pourtant validée. [[NEG]]. Pouvez-vous appeler mon collègue au [[PHONE]] ?\n\n"
     "Peux-tu me proposer une réponse ?"),
    ("email", False,
     "Bonjour,\n\nJe vous transmets les pièces du dossier [[N_order]]. [[NEG]].\n\n--\n[[SIGNAME]]\n"
     "Transitaire agréé en douane\n[[ADDRESS_ML]]\nPortable : [[PHONE]]\nFixe : [[PHONE]]\n"
     "[[EMAIL]]"),
    ("email", False,
     "Objet : demande d'accès\n\nBonjour, voici mes identifiants pour le test : login [[EMAIL]], "
     "[[PASSWORD]]. Le jeton API est [[TOKEN]].\nMerci,\n[[SIGNAME]]"),
    ("email", False,
     "Bonjour [[TNAME]],\n\nLe dossier est désormais suivi par [[DRNAME]] ; [[NEG_dr_regional]]. "
     "Le camion [[PLATE]] et la remorque ont été libérés.\n\nCordialement,\n[[SIGNAME]]\n[[PHONE]]"),
    ("letter", False,
     "[[TNAME]]\n[[ADDRESS_ML]]\n\nObjet : demande de remboursement de droits\nRéf. : [[N_order]]\n\n"
     "Madame, Monsieur,\n\nJe soussigné [[NAME]], né le [[DOB]], numéro de sécurité sociale [[NIR]], "
     "sollicite le remboursement des droits acquittés par erreur, sur le compte [[IBAN]]. [[NEG]].\n\n"
     "Veuillez agréer, Madame, Monsieur, l'expression de mes salutations distinguées.\n\n[[SIGNAME]]"),
    ("letter", False,
     "Cabinet [[NAME2]], avocats\n\nMaître,\n\nMon client, [[TNAME]], société immatriculée au RCS de Lyon "
     "sous le numéro [[SIREN]], conteste l'avis de mise en recouvrement. Il invoque [[N_article]]. "
     "[[NEG]].\nVous pouvez me joindre au [[PHONE]] ou à [[EMAIL2]]."),
    ("letter", False,
     "AVIS DE MISE EN RECOUVREMENT n° [[N_order]]\n\nRedevable : [[NAME_UPPER]]\nSIRET : [[SIRET]]\n"
     "N° TVA : [[VAT]]\nAdresse : [[ADDRESS]]\nMontant : [[N_amount]]\n\n[[NEG]]."),
    ("letter", False,
     "Monsieur le Directeur régional,\n\nJ'ai l'honneur de vous signaler que [[TNAME]], né le [[DOB]], "
     "titulaire du passeport n° [[PASSPORT]], a présenté au contrôle la carte [[CARD]]. [[NEG]]. "
     "[[NEG_secret_legal]].\n\n[[SIGNAME]]"),
    ("declaration", True,
     "EXTRAIT DE DÉCLARATION EN DOUANE\nMRN : [[MRN]]\nDéclarant : [[NAME]] – EORI [[EORI]]\n"
     "Destinataire : [[TNAME]], [[ADDRESS]]\nCase 33 – Code marchandise : [[N_taric]]\n"
     "Case 31 – Conteneur : [[CONTAINER]]\nValeur statistique : [[N_amount]]\nMasse brute : [[N_weight]]\n"
     "Date d'acceptation : [[N_date]]\nCachet du [[N_form_word]]"),
    ("declaration", True,
     "DAE n° [[MRN]]\nExportateur : SIRET [[SIRET]] / TVA [[VAT]]\nTransporteur : véhicule [[PLATE]]\n"
     "Bureau de sortie : [[N_office_code]]\nNomenclature : [[N_taric]]\nContact : [[PHONE]]"),
    ("declaration", True,
     "Transit T1 [[MRN]]\nPrincipal obligé : EORI [[EORI]]\nConteneurs : [[CONTAINER]] / [[CONTAINER]]\n"
     "Garantie : [[N_amount]]\nDocument précédent : [[N_order]]\nAccise : [[N_excise]]"),
    ("declaration", False,
     "PROCÈS-VERBAL DE CONSTAT\n\nLe [[N_date]], avons contrôlé le véhicule immatriculé [[PLATE]] conduit "
     "par [[NAME_UPPER]], né le [[DOB]], demeurant [[ADDRESS]], titulaire de la carte d'identité "
     "n° [[IDCARD]]. Marchandise : [[N_taric]] pour [[N_weight]]. [[NEG]]."),
    ("declaration", False,
     "Fiche de retenue douanière\nIntéressé : [[TNAME]]\nTéléphone : [[PHONE]]\nCourriel : [[EMAIL]]\n"
     "Moyen de paiement : carte [[CARD]]\nConsignation : [[N_amount]]\n[[NEG]]."),
    ("table", True,
     "Peux-tu dédoublonner ce fichier ?\nnom;prenom;email;telephone;iban\n"
     "[[SURNAME_U]];[[FIRST]];[[EMAIL]];[[PHONE]];[[IBAN]]\n"
     "[[SURNAME_U]];[[FIRST]];[[EMAIL2]];[[PHONE]];[[IBAN]]\n"
     "[[SURNAME_U]];[[FIRST]];[[EMAIL]];[[PHONE]];[[IBAN]]"),
    ("table", True,
     "| Opérateur | SIRET | TVA | EORI |\n|---|---|---|---|\n"
     "| Logistique du Rhône | [[SIRET]] | [[VAT]] | [[EORI]] |\n"
     "| Import Méditerranée | [[SIRET]] | [[VAT]] | [[EORI]] |\n"
     "| Fret Atlantique | [[SIRET]] | [[VAT]] | [[EORI]] |\n\nLesquels sont des OEA ?"),
    ("table", True,
     "Complète la colonne manquante :\n| Conteneur | MRN | Code TARIC | Poids |\n|---|---|---|---|\n"
     "| [[CONTAINER]] | [[MRN]] | [[N_taric]] | [[N_weight]] |\n"
     "| [[CONTAINER]] | [[MRN]] | [[N_taric]] | [[N_weight]] |\n"
     "| [[CONTAINER]] | [[MRN]] | [[N_taric]] | |"),
    ("table", True,
     "date;montant;carte;immatriculation\n[[N_date]];[[N_amount]];[[CARD]];[[PLATE]]\n"
     "[[N_date]];[[N_amount]];[[CARD]];[[PLATE]]\n[[N_date]];[[N_amount]];[[CARD]];[[PLATE]]\n"
     "Fais la somme des montants."),
    ("log", True,
     "Pourquoi ce log ?\n2024-05-14T08:12:03Z INFO auth user=[[EMAIL]] ip=[[IP]] action=login\n"
     "2024-05-14T08:12:04Z WARN paiement carte=[[CARD]] statut=refusé\n"
     "2024-05-14T08:12:09Z DEBUG Authorization: Bearer [[BEARER]]"),
    ("log", True,
     "[[IP]] - - [14/May/2024:10:01:22 +0200] \"GET /api/declarations/[[MRN]]?access_token=[[GHP]] "
     "HTTP/1.1\" 200 5120\nExplique-moi cette ligne."),
    ("log", True,
     "2024-06-02 11:40:17,532 WARN doublon détecté nir=[[NIR]] iban=[[IBAN]] tel=[[PHONE]]\n"
     "2024-06-02 11:40:17,533 INFO appli version [[N_version]]\nC'est grave ?"),
    ("code", True,
     "Voici mon fichier config.json, pourquoi la connexion échoue ?\n```json\n{\n"
     "  \"gitlab_token\": \"[[GLPAT]]\",\n  \"slack_bot\": \"[[SLACK]]\",\n"
     "  \"db_password\": \"[[PWVAL]]\",\n  \"contact\": \"[[EMAIL]]\"\n}\n```"),
    ("code", True,
     "```python\nimport requests\nHEADERS = {\"Authorization\": \"Bearer [[JWT]]\"}\n"
     "GITHUB_TOKEN = \"[[GHP]]\"\nr = requests.get(\"https://api.example.org/v1/declarations\", "
     "headers=HEADERS)\n```\nPourquoi ai-je une erreur 401 ?"),
    ("code", True,
     "Mon .env ne se charge pas :\n```\nAWS_ACCESS_KEY_ID=[[AWS]]\nGOOGLE_API_KEY=[[GOOGLE]]\n"
     "OPENAI_API_KEY=[[OPENAI]]\nDB_PASSWORD=[[PWVAL]]\nAPP_VERSION=[[N_version]]\n```"),
    ("code", False,
     "Le serveur SFTP du transitaire refuse ma clé, la voici :\n[[PRIVKEY]]\nQu'est-ce qui ne va pas ?"),
    ("code", True,
     "curl -H \"Authorization: Bearer [[BEARER]]\" https://api.example.fr/v2/dossiers/[[MRN]]\n"
     "renvoie 403, une idée ?"),
    ("ocr", False,
     "Texte extrait du scan (OCR) :\n[[MRZ_TD3]]\nPeux-tu vérifier la validité de ce passeport ?"),
    ("ocr", False,
     "Voici l'OCR de la pièce d'identité du déclarant :\n[[MRZ_CNI]]\nAdresse : [[ADDRESS]]\n"
     "Remplis la fiche voyageur."),
    ("chat", False,
     "Lequel de ces deux numéros de sécurité sociale est valide : [[NIR]] ou [[N_nir_twin]] ? "
     "Le second figure sur le formulaire de [[TNAME]]. Vérifie aussi [[NIR]]."),
    ("chat", False,
     "Contrôle les coordonnées bancaires reçues : [[IBAN]], [[N_iban_twin]] et [[IBAN_X]]. "
     "Le donneur d'ordre a payé avec la carte [[CARD]] (l'ancienne, [[N_card_twin]], est expirée)."),
    ("chat", False,
     "Vérifie ces identifiants d'entreprise : SIRET [[SIRET]] et [[N_siret_twin]] ; SIREN [[SIREN]] et "
     "[[N_siren_twin]] ; TVA [[VAT]] et [[N_vat_twin]] ; EORI [[EORI]] et [[N_eori_twin]]."),
    ("chat", False,
     "Le navire a été repéré aux coordonnées GPS [[GPS]] ; le capitaine, [[TNAME]], réside à "
     "[[POSTCODE]] et se connecte depuis l'adresse IP [[IP]]. Conteneurs à bord : [[CONTAINER]], "
     "[[N_container_twin]] (illisible). MRN : [[MRN]], [[N_mrn_twin]]."),
    ("chat", False,
     "Liste des véhicules contrôlés ce matin : [[PLATE]], [[PLATE]] et [[N_plate_twin]] (fausse plaque). "
     "Le propriétaire du premier, [[TNAME]], habite à [[POSTCODE]]."),
    ("table", True,
     "Mets à jour la fiche agent :\n- Nom : [[NAME_UPPER]]\n- NIR : [[NIR]]\n- IBAN : [[IBAN_FR]]\n"
     "- Adresse : [[ADDRESS]]\n- Téléphone : [[PHONE]]\n- Courriel : [[EMAIL]]\n- Date d'entrée : [[N_date]]"),
    ("letter", False,
     "Madame,\n\nSuite au contrôle du [[N_date]], nous avons relevé sur le compte [[IBAN]] deux paiements par "
     "la carte [[CARD]] pour [[N_amount]]. Votre numéro de sécurité sociale ([[NIR]]) nous a été "
     "communiqué par la caisse. [[NEG]].\n\n[[SIGNAME]], inspecteur\n[[PHONE]]"),
    ("memo", False,
     "[[MARK_HEAD]]\n\nNOTE À L'ATTENTION DE MONSIEUR LE DIRECTEUR RÉGIONAL\nObjet : ciblage du conteneur "
     "[[CONTAINER]]\n\nLe service a identifié un envoi suspect déclaré par [[NAME]] sous le MRN [[MRN]]. "
     "[[NEG]].\n\n[[MARK_FOOT]]"),
    ("memo", False,
     "Résume cette note :\n\n[[MARK_HEAD]]\nDIRECTION NATIONALE DU RENSEIGNEMENT ET DES ENQUÊTES DOUANIÈRES\n"
     "Objet : surveillance de la société SIRET [[SIRET]]\nLe gérant, [[TNAME]], est joignable au "
     "[[PHONE]]. [[NEG_secret_legal]]. [[NEG_dr_regional]].\n[[MARK_FOOT]]"),
    ("memo", False,
     "[[MARK_HEAD]]\nCompte rendu de réunion avec les partenaires\nNiveau de classification du document "
     "source : [[MARK_CLS]].\nÉchanges sous [[MARK_FOR]] avec la délégation. [[NEG]].\n[[MARK_FOOT]]"),
    ("memo", False,
     "Transforme cette note en liste à puces :\n[[MARK_HEAD]]\n- véhicule [[PLATE]] signalé\n"
     "- conteneur [[CONTAINER]]\n- importateur EORI [[EORI]]\n- [[NEG]]\n[[MARK_FOOT]]"),
]

TEMPLATES_EN = [
    ("chat", False,
     "Can you summarise this case? The importer, [[TNAME]], born on [[DOB]], living at [[ADDRESS]], "
     "declared container [[CONTAINER]] under MRN [[MRN]]. Note: [[NEG]]."),
    ("email", False,
     "Subject: Customs clearance [[MRN]]\n\nDear [[TNAME]],\n\nThe goods in container [[CONTAINER]] have "
     "been released. [[NEG]].\n\nKind regards,\n[[SIGNAME]]\nPhone: [[PHONE_INTL]]\nEmail: [[EMAIL2]]"),
    ("email", False,
     "Hi,\nPlease refund the duties to our account [[IBAN_X]] (BIC [[BIC]]), holder [[NAME]]. "
     "Also, [[NEG]].\nThanks,\n[[SIGNAME]]\n[[PHONE]]"),
    ("chat", False,
     "Draft a receipt for [[TNAME]], who paid the [[N_amount]] fine with card [[CARD]]. "
     "Their phone is [[PHONE_INTL]]."),
    ("table", True,
     "Which of these traders are AEO certified?\n| Trader | SIRET | VAT | EORI |\n|---|---|---|---|\n"
     "| North Freight | [[SIRET]] | [[VAT]] | [[EORI]] |\n| Blue Harbour | [[SIRET]] | [[VAT]] | [[EORI]] |"),
    ("log", True,
     "What does this mean?\n2024-05-14T09:00:01Z INFO login user=[[EMAIL]] from [[IP]]\n"
     "2024-05-14T09:00:02Z ERROR charge failed card=[[CARD]]\n"
     "2024-05-14T09:00:02Z DEBUG header Authorization: Bearer [[BEARER]]"),
    ("code", True,
     "Why does this fail?\n```python\nimport boto3\nsession = boto3.Session(aws_access_key_id=\"[[AWS]]\",\n"
     "    aws_secret_access_key=\"[[AWSSECRET]]\")\ntoken = \"[[JWT]]\"\ngh = \"[[GHP]]\"\n```"),
    ("code", True,
     "My .env file:\n```\nSLACK_BOT_TOKEN=[[SLACK]]\nGITLAB_TOKEN=[[GLPAT]]\nOPENAI_API_KEY=[[OPENAI]]\n"
     "DB_PASSWORD=[[PWVAL]]\n```\nIs it safe to commit?"),
    ("code", False,
     "The partner's SFTP server rejects this key:\n[[PRIVKEY]]\nAny idea? My account [[PASSWORD]] works."),
    ("ocr", False,
     "OCR of the traveller's passport:\n[[MRZ_TD3]]\nIs it still valid?"),
    ("memo", False,
     "[[MARK_HEAD]]\n\nMEMORANDUM\nSubject: joint operation on container [[CONTAINER]]\nThe consignee, "
     "[[TNAME]], uses phone [[PHONE_INTL]]. [[NEG]].\n\n[[MARK_FOOT]]"),
    ("memo", False,
     "Summarise this note. It is marked [[MARK_PROT]] at the top and [[MARK_FOR]] in the annex; the "
     "source document was classified [[MARK_CLS]]. [[NEG]]. [[NEG_secret_legal]]."),
    ("table", True,
     "container,mrn,hs_code,gross_kg\n[[CONTAINER]],[[MRN]],[[N_taric]],[[N_weight]]\n"
     "[[CONTAINER]],[[MRN]],[[N_taric]],[[N_weight]]\nWhich rows are late?"),
    ("chat", False,
     "The lorry [[PLATE]] was stopped at Calais; the driver, [[TNAME]], holds driving licence "
     "[[LICENCE]] and gave the number [[PHONE]]. Write the report. [[NEG]]."),
    ("chat", False,
     "Translate into French: \"[[TNAME]] (social security number [[NIR]], date of birth [[DOB]]) "
     "lives at [[ADDRESS]] and can be reached at [[EMAIL]].\""),
    ("chat", False,
     "Which of these is a valid French social security number: [[NIR]] or [[N_nir_twin]]? And is "
     "IBAN [[IBAN]] fine? The old one, [[N_iban_twin]], bounced."),
    ("chat", False,
     "Check these cards before the refund: [[CARD]], [[CARD]] and [[N_card_twin]]. The vessel was at "
     "GPS [[GPS]] when the containers [[CONTAINER]] and [[N_container_twin]] were loaded."),
    ("letter", False,
     "Dear Sir or Madam,\n\n[[TNAME]] (NIR [[NIR]]) asks us to pay the refund into [[IBAN_X]]. The company "
     "SIRET is [[SIRET]], VAT [[VAT]]. [[NEG]].\n\nYours faithfully,\n[[SIGNAME]]\n[[EMAIL]]"),
    ("declaration", True,
     "CUSTOMS DECLARATION EXTRACT\nMRN: [[MRN]]\nDeclarant: [[NAME]], EORI [[EORI]]\n"
     "Exporter VAT: [[VAT]]\nCommodity code: [[N_taric]]\nStatistical value: [[N_amount]]\n"
     "Acceptance date: [[N_date]]\nBox: [[N_form_word_en]]"),
]

_SLOT_RE = re.compile(r"\[\[([A-Za-z0-9_]+)\]\]")


def render(rng, lang, template):
    register, structured, text = template
    p = Prompt(rng, lang, register, structured)
    pieces = _SLOT_RE.split(text)
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            p.text(piece)
        else:
            SLOTS[piece](p)
    return p


def generate(seed=SEED, n=DEFAULT_N):
    """Returns n records; two prompts in three are French, every template is used in turn."""
    records = []
    counters = {"fr": 0, "en": 0}
    for i in range(n):
        lang = "en" if i % 3 == 2 else "fr"
        templates = TEMPLATES_FR if lang == "fr" else TEMPLATES_EN
        template = templates[counters[lang] % len(templates)]
        counters[lang] += 1
        rng = random.Random("vigie-corpus/%d/%d" % (seed, i))
        p = render(rng, lang, template)
        records.append(p.record("%s-%04d" % (lang, i)))
    return records


CHECKERS = {
    "identity.nir": nir_ok,
    "finance.iban": iban_ok,
    "finance.card": luhn_ok,
    "company.siren": siren_ok,
    "company.siret": siret_ok,
    "company.vat": vat_ok,
    "company.eori": lambda c: c.startswith("FR") and siret_ok(c[2:]),
    "customs.mrn": lambda c: len(c) == 18 and iso6346_check(c[:17]) == int(c[17]),
    "customs.container": lambda c: len(c) == 11 and iso6346_check(c[:10]) == int(c[10]),
}
TWINS = {
    "nir_twin": nir_ok, "iban_twin": iban_ok, "card_twin": luhn_ok, "siren_twin": siren_ok,
    "siret_twin": siret_ok, "vat_twin": vat_ok, "eori_twin": CHECKERS["company.eori"],
    "mrn_twin": CHECKERS["customs.mrn"], "container_twin": CHECKERS["customs.container"],
    "order15": nir_ok,
}


def check_records(records):
    """Every checksum-validated gold value passes its check, every twin fails it."""
    for r in records:
        for s in r["spans"]:
            check = CHECKERS.get(s["category"])
            assert check is None or check(canonical(s["value"])), (r["id"], s)
        for n in r["negatives"]:
            check = TWINS.get(n["kind"])
            assert check is None or not check(canonical(n["value"])), (r["id"], n)


def self_check():
    """Worked values from pii.md, so a broken generator is caught before the corpus."""
    assert nir_key("1850578006084") == 91
    assert nir_key("253072A073004") == 43 and nir_key("253072B073004") == 70
    assert iban_ok("FR7630006000011234567890189") and rib_key("30006", "00001", "12345678901") == 89
    assert rib_key("20041", "01005", "0500013M026") == 6
    assert iban_ok("DE89370400440532013000") and iban_ok("GB82WEST12345698765432")
    assert iban_ok("BE68539007547034") and not iban_ok("FR7630006000011234567890198")
    assert siret_ok("73282932000074") and siret_ok("35600000010000") and not siret_ok("73282932000079")
    assert vat_ok("FR83404833048") and vat_ok("FR40303265045") and not vat_ok("FR41303265045")
    assert iso6346_check("CSQU305438") == 3 and iso6346_check("MSKU123456") == 5
    assert iso6346_check("06DE586600006143E") == 1 and iso6346_check("24FR0000000000012") == 4
    assert mrz_check("L898902C3") == "6"
    assert luhn_ok("4970101234567893") and not luhn_ok("4970101234567894")
    assert _es_bban(random.Random(1)) and iban_ok(iban_make("ES", "21000418450200051332"))
    assert iban_ok("ES9121000418450200051332")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="JSONL file to write ('-' for stdout)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--n", type=int, default=DEFAULT_N)
    args = ap.parse_args(argv)
    self_check()
    records = generate(seed=args.seed, n=args.n)
    check_records(records)
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")
    try:
        for r in records:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    spans = sum(len(r["spans"]) for r in records)
    negs = sum(len(r["negatives"]) for r in records)
    print("%d prompts, %d gold spans, %d hard negatives" % (len(records), spans, negs), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
