"""Personal and sensitive values the end-to-end tests send (documentation values:
valid check digits, nobody's data). test_privacy.py checks that none of them
ever appears in vigie's log."""

NAME = "Jean DUPONT"
EMAIL = "jean.dupont@example.fr"
PHONE = "06 39 98 00 01"
IBAN = "FR76 3000 6000 0112 3456 7890 189"
NIR = "2 53 07 2A 073 004 43"
EMAIL2 = "marie.curie@example.org"
MARKING = "SECRET DÉFENSE"
PRIVATE_KEY = ("-----BEGIN PRIVATE KEY-----\n"
               "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
               "-----END PRIVATE KEY-----")

# A prompt with a name, an e-mail, a phone number (pseudonymised: restored in
# the answer) and an IBAN (masked: comes back as [IBAN]).
PROMPT = ("Bonjour, je suis M. %s, écrivez à %s ou appelez le %s. IBAN %s."
          % (NAME, EMAIL, PHONE, IBAN))
# What the client reads back from the echoing mock: pseudonyms restored, the
# masked IBAN not.
PROMPT_RESTORED = PROMPT.replace(IBAN, "[IBAN]")

# Every value that must never be in a log (the IBAN's digits alone too).
PERSONAL = [NAME, "DUPONT", EMAIL, PHONE, IBAN, "3000 6000 0112", NIR, EMAIL2,
            "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"]
