/*
 * French vehicle plates: the SIV series (since 2009), canonical "AB123CD".
 *
 * SIV numbers are issued in one national sequence AA-001-AA .. ZZ-999-ZZ with
 * these exclusions (ANTS, service-public.fr F17638):
 *   - the letters I, O and U are never used (read as 1, 0 and V);
 *   - SS is not issued as the left pair (Code pénal, insignia of organisations
 *     responsible for crimes against humanity);
 *   - the number block runs 001..999: 000 does not exist.
 * WW on the left is the provisional series ("WW-123-AB"): a real plate, tied to
 * a person through the register like any other, so it is accepted.
 *
 * What is deliberately not checked: SS as the right pair. Sources agree that
 * "SS" is banned but not on which side; a plate is personal data, so in doubt
 * we keep the match (a rare false positive) rather than drop it (a leak).
 *
 * The old FNI plates ("1234 AB 75") have no arithmetic to check: their rule
 * is a pattern plus required context words, with no validator.
 */
#include "detect/validate.h"

/* A letter that the SIV series uses: A-Z without I, O, U. */
static int siv_letter(char c)
{
    return c >= 'A' && c <= 'Z' && c != 'I' && c != 'O' && c != 'U';
}

static int digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Contract: s[0..len) is the canonical form ([0-9A-Z], upper case). Returns 1
 * for a plate the SIV can have issued (2 letters, 3 digits, 2 letters, rules
 * above), 0 otherwise, including for NULL and any length other than 7. */
int detect_valid_siv_plate(const char *s, size_t len)
{
    if (s == NULL || len != 7)
        return 0;
    if (!siv_letter(s[0]) || !siv_letter(s[1]) || !siv_letter(s[5]) || !siv_letter(s[6]))
        return 0;
    if (!digit(s[2]) || !digit(s[3]) || !digit(s[4]))
        return 0;
    if (s[2] == '0' && s[3] == '0' && s[4] == '0')
        return 0;
    if (s[0] == 'S' && s[1] == 'S')
        return 0;
    return 1;
}
