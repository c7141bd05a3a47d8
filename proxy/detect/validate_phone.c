/*
 * International telephone numbers (E.164): the "e164" validator.
 *
 * The pack's regex finds a number written with an international prefix
 * ("+44 7700 900123", "0044 7700 900123", "+33 (0)1 99 00 12 34"); this file
 * decides whether its digits can be a real number: a country code assigned by
 * the ITU, a national significant number (NSN) of a length that country uses,
 * and 8 to 15 digits in all (E.164 allows at most 15; fewer than 8 is a price,
 * a reference or a short code, far more often than a phone number).
 *
 * Input is the canonical form ([0-9A-Z] only), so the '+' is gone:
 *  - "+44 7700 900123"  arrives as "447700900123";
 *  - "0044 7700 900123" arrives as "00447700900123": a leading "00" is the
 *    international call prefix used in France and most of Europe, and is
 *    dropped (once). No country code starts with 0, so this cannot hide one;
 *  - any other leading 0 ("06 39 98 00 01", a national number) is refused:
 *    national French numbers are the contact.phone.fr rule's business;
 *  - "+33 (0)1 99 00 12 34" arrives as "330199001234": the "(0)" is the
 *    national trunk prefix that people keep in brackets. After the country
 *    code, one leading 0 is dropped, except for the few countries whose
 *    numbers really begin with 0 (Italy, San Marino, the Vatican, Côte
 *    d'Ivoire, Benin, Gabon, Congo), where it is part of the number.
 *
 * The country table is the ITU-T E.164 list of assigned codes (Operational
 * Bulletin "List of ITU-T Recommendation E.164 assigned country codes"),
 * spare and withdrawn codes left out (e.g. 259, 28x, 384, 388, 422, 671, 684,
 * 969, 978, 999). Codes form a prefix-free set, so the first table code that
 * prefixes the digits is the only one. NSN lengths follow the national plans
 * as summarised by libphonenumber's metadata; for the few codes whose plan
 * was not checked (global services, 878, 88x, 991) a wide 4..12 range is used
 * and the 8..15 total does the rest.
 *
 * Pure function of its input; never reads past len; NULL or empty gives 0.
 */
#include <string.h>

#include "detect/validate.h"

#define E164_TOTAL_MIN 8u  /* country code + NSN, digits */
#define E164_TOTAL_MAX 15u /* E.164 maximum */

/* Numbers of this country may begin with 0 after the country code. */
#define CC_ZERO 0x1

struct cc_entry {
    char cc[4];            /* the code, NUL-terminated, 1 to 3 digits */
    unsigned char nsn_min; /* national significant number length, digits */
    unsigned char nsn_max;
    unsigned char flags;
};

/* Sorted by code for reading; looked up by prefix. */
static const struct cc_entry cc_table[] = {
    {"1", 10, 10, 0},        /* NANP: US, Canada, Caribbean */
    {"7", 10, 10, 0},        /* Russia, Kazakhstan */
    {"20", 8, 10, 0},        /* Egypt */
    {"211", 9, 9, 0},        /* South Sudan */
    {"212", 9, 9, 0},        /* Morocco */
    {"213", 8, 9, 0},        /* Algeria */
    {"216", 8, 8, 0},        /* Tunisia */
    {"218", 8, 9, 0},        /* Libya */
    {"220", 7, 7, 0},        /* Gambia */
    {"221", 9, 9, 0},        /* Senegal */
    {"222", 8, 8, 0},        /* Mauritania */
    {"223", 8, 8, 0},        /* Mali */
    {"224", 8, 9, 0},        /* Guinea */
    {"225", 8, 10, CC_ZERO}, /* Côte d'Ivoire (10 digits since 2021, 0x) */
    {"226", 8, 8, 0},        /* Burkina Faso */
    {"227", 8, 8, 0},        /* Niger */
    {"228", 8, 8, 0},        /* Togo */
    {"229", 8, 10, CC_ZERO}, /* Benin (10 digits from 2024, 01...) */
    {"230", 7, 8, 0},        /* Mauritius */
    {"231", 7, 9, 0},        /* Liberia */
    {"232", 8, 8, 0},        /* Sierra Leone */
    {"233", 9, 9, 0},        /* Ghana */
    {"234", 8, 10, 0},       /* Nigeria */
    {"235", 8, 8, 0},        /* Chad */
    {"236", 8, 8, 0},        /* Central African Republic */
    {"237", 8, 9, 0},        /* Cameroon */
    {"238", 7, 7, 0},        /* Cabo Verde */
    {"239", 7, 7, 0},        /* São Tomé and Príncipe */
    {"240", 9, 9, 0},        /* Equatorial Guinea */
    {"241", 7, 8, CC_ZERO},  /* Gabon */
    {"242", 9, 9, CC_ZERO},  /* Congo */
    {"243", 7, 9, 0},        /* DR Congo */
    {"244", 9, 9, 0},        /* Angola */
    {"245", 7, 9, 0},        /* Guinea-Bissau */
    {"246", 7, 7, 0},        /* Diego Garcia */
    {"247", 4, 5, 0},        /* Ascension */
    {"248", 7, 7, 0},        /* Seychelles */
    {"249", 9, 9, 0},        /* Sudan */
    {"250", 9, 9, 0},        /* Rwanda */
    {"251", 9, 9, 0},        /* Ethiopia */
    {"252", 7, 9, 0},        /* Somalia */
    {"253", 8, 8, 0},        /* Djibouti */
    {"254", 9, 10, 0},       /* Kenya */
    {"255", 9, 9, 0},        /* Tanzania */
    {"256", 9, 9, 0},        /* Uganda */
    {"257", 8, 8, 0},        /* Burundi */
    {"258", 8, 9, 0},        /* Mozambique */
    {"260", 9, 9, 0},        /* Zambia */
    {"261", 9, 9, 0},        /* Madagascar */
    {"262", 9, 9, 0},        /* Réunion, Mayotte */
    {"263", 5, 10, 0},       /* Zimbabwe */
    {"264", 8, 9, 0},        /* Namibia */
    {"265", 7, 9, 0},        /* Malawi */
    {"266", 8, 8, 0},        /* Lesotho */
    {"267", 7, 8, 0},        /* Botswana */
    {"268", 8, 8, 0},        /* Eswatini */
    {"269", 7, 7, 0},        /* Comoros (Mayotte left +269 for +262 in 2007) */
    {"27", 9, 9, 0},         /* South Africa */
    {"290", 4, 5, 0},        /* Saint Helena, Tristan da Cunha */
    {"291", 7, 7, 0},        /* Eritrea */
    {"297", 7, 7, 0},        /* Aruba */
    {"298", 6, 6, 0},        /* Faroe Islands */
    {"299", 6, 6, 0},        /* Greenland */
    {"30", 10, 10, 0},       /* Greece */
    {"31", 9, 9, 0},         /* Netherlands */
    {"32", 8, 9, 0},         /* Belgium */
    {"33", 9, 9, 0},         /* France */
    {"34", 9, 9, 0},         /* Spain */
    {"350", 8, 8, 0},        /* Gibraltar */
    {"351", 9, 9, 0},        /* Portugal */
    {"352", 4, 11, 0},       /* Luxembourg */
    {"353", 7, 9, 0},        /* Ireland */
    {"354", 7, 9, 0},        /* Iceland */
    {"355", 8, 9, 0},        /* Albania */
    {"356", 8, 8, 0},        /* Malta */
    {"357", 8, 8, 0},        /* Cyprus */
    {"358", 5, 12, 0},       /* Finland, Åland */
    {"359", 8, 9, 0},        /* Bulgaria */
    {"36", 8, 9, 0},         /* Hungary */
    {"370", 8, 8, 0},        /* Lithuania */
    {"371", 8, 8, 0},        /* Latvia */
    {"372", 7, 8, 0},        /* Estonia */
    {"373", 8, 8, 0},        /* Moldova */
    {"374", 8, 8, 0},        /* Armenia */
    {"375", 9, 9, 0},        /* Belarus */
    {"376", 6, 9, 0},        /* Andorra */
    {"377", 8, 9, 0},        /* Monaco */
    {"378", 6, 10, CC_ZERO}, /* San Marino (0549...) */
    {"379", 6, 10, CC_ZERO}, /* Vatican (assigned, in practice +39 06 698) */
    {"380", 9, 9, 0},        /* Ukraine */
    {"381", 6, 12, 0},       /* Serbia */
    {"382", 8, 8, 0},        /* Montenegro */
    {"383", 8, 8, 0},        /* Kosovo */
    {"385", 8, 9, 0},        /* Croatia */
    {"386", 8, 8, 0},        /* Slovenia */
    {"387", 8, 9, 0},        /* Bosnia and Herzegovina */
    {"389", 8, 8, 0},        /* North Macedonia */
    {"39", 6, 11, CC_ZERO},  /* Italy (fixed lines keep their 0) */
    {"40", 9, 9, 0},         /* Romania */
    {"41", 9, 9, 0},         /* Switzerland */
    {"420", 9, 9, 0},        /* Czechia */
    {"421", 9, 9, 0},        /* Slovakia */
    {"423", 7, 9, 0},        /* Liechtenstein */
    {"43", 4, 13, 0},        /* Austria */
    {"44", 9, 10, 0},        /* United Kingdom */
    {"45", 8, 8, 0},         /* Denmark */
    {"46", 7, 10, 0},        /* Sweden */
    {"47", 8, 8, 0},         /* Norway */
    {"48", 9, 9, 0},         /* Poland */
    {"49", 6, 13, 0},        /* Germany */
    {"500", 5, 5, 0},        /* Falkland Islands */
    {"501", 7, 7, 0},        /* Belize */
    {"502", 8, 8, 0},        /* Guatemala */
    {"503", 8, 8, 0},        /* El Salvador */
    {"504", 8, 8, 0},        /* Honduras */
    {"505", 8, 8, 0},        /* Nicaragua */
    {"506", 8, 8, 0},        /* Costa Rica */
    {"507", 7, 8, 0},        /* Panama */
    {"508", 6, 6, 0},        /* Saint-Pierre-et-Miquelon */
    {"509", 8, 8, 0},        /* Haiti */
    {"51", 8, 9, 0},         /* Peru */
    {"52", 10, 10, 0},       /* Mexico */
    {"53", 6, 8, 0},         /* Cuba */
    {"54", 10, 11, 0},       /* Argentina */
    {"55", 10, 11, 0},       /* Brazil */
    {"56", 9, 9, 0},         /* Chile */
    {"57", 10, 10, 0},       /* Colombia */
    {"58", 10, 10, 0},       /* Venezuela */
    {"590", 9, 9, 0},        /* Guadeloupe, Saint-Barthélemy, Saint-Martin */
    {"591", 8, 8, 0},        /* Bolivia */
    {"592", 7, 7, 0},        /* Guyana */
    {"593", 8, 9, 0},        /* Ecuador */
    {"594", 9, 9, 0},        /* French Guiana */
    {"595", 9, 9, 0},        /* Paraguay */
    {"596", 9, 9, 0},        /* Martinique */
    {"597", 6, 7, 0},        /* Suriname */
    {"598", 8, 8, 0},        /* Uruguay */
    {"599", 7, 8, 0},        /* Curaçao, Caribbean Netherlands */
    {"60", 8, 10, 0},        /* Malaysia */
    {"61", 9, 9, 0},         /* Australia */
    {"62", 8, 12, 0},        /* Indonesia */
    {"63", 8, 10, 0},        /* Philippines */
    {"64", 8, 10, 0},        /* New Zealand */
    {"65", 8, 8, 0},         /* Singapore */
    {"66", 8, 9, 0},         /* Thailand */
    {"670", 7, 8, 0},        /* Timor-Leste */
    {"672", 6, 6, 0},        /* Norfolk Island, Australian Antarctic */
    {"673", 7, 7, 0},        /* Brunei */
    {"674", 7, 7, 0},        /* Nauru */
    {"675", 7, 8, 0},        /* Papua New Guinea */
    {"676", 5, 7, 0},        /* Tonga */
    {"677", 5, 7, 0},        /* Solomon Islands */
    {"678", 5, 7, 0},        /* Vanuatu */
    {"679", 7, 7, 0},        /* Fiji */
    {"680", 7, 7, 0},        /* Palau */
    {"681", 6, 6, 0},        /* Wallis-et-Futuna */
    {"682", 5, 5, 0},        /* Cook Islands */
    {"683", 4, 7, 0},        /* Niue */
    {"685", 5, 7, 0},        /* Samoa */
    {"686", 5, 8, 0},        /* Kiribati */
    {"687", 6, 6, 0},        /* New Caledonia */
    {"688", 5, 7, 0},        /* Tuvalu */
    {"689", 8, 8, 0},        /* French Polynesia */
    {"690", 4, 7, 0},        /* Tokelau */
    {"691", 7, 7, 0},        /* Micronesia */
    {"692", 7, 7, 0},        /* Marshall Islands */
    {"800", 8, 8, 0},        /* International freephone */
    {"808", 8, 8, 0},        /* International shared cost */
    {"81", 9, 10, 0},        /* Japan */
    {"82", 8, 10, 0},        /* South Korea */
    {"84", 9, 10, 0},        /* Vietnam */
    {"850", 8, 10, 0},       /* North Korea */
    {"852", 8, 8, 0},        /* Hong Kong */
    {"853", 8, 8, 0},        /* Macao */
    {"855", 8, 9, 0},        /* Cambodia */
    {"856", 8, 10, 0},       /* Laos */
    {"86", 9, 11, 0},        /* China */
    {"870", 9, 9, 0},        /* Inmarsat */
    {"878", 4, 12, 0},       /* Universal personal telecommunication */
    {"880", 6, 10, 0},       /* Bangladesh */
    {"881", 4, 12, 0},       /* Global mobile satellite systems */
    {"882", 4, 12, 0},       /* International networks */
    {"883", 4, 12, 0},       /* International networks */
    {"886", 8, 9, 0},        /* Taiwan */
    {"888", 4, 12, 0},       /* OCHA (disaster relief) */
    {"90", 10, 10, 0},       /* Turkey */
    {"91", 10, 10, 0},       /* India */
    {"92", 9, 10, 0},        /* Pakistan */
    {"93", 9, 9, 0},         /* Afghanistan */
    {"94", 9, 9, 0},         /* Sri Lanka */
    {"95", 7, 10, 0},        /* Myanmar */
    {"960", 7, 7, 0},        /* Maldives */
    {"961", 7, 8, 0},        /* Lebanon */
    {"962", 8, 9, 0},        /* Jordan */
    {"963", 8, 9, 0},        /* Syria */
    {"964", 8, 10, 0},       /* Iraq */
    {"965", 8, 8, 0},        /* Kuwait */
    {"966", 9, 9, 0},        /* Saudi Arabia */
    {"967", 7, 9, 0},        /* Yemen */
    {"968", 8, 8, 0},        /* Oman */
    {"970", 8, 9, 0},        /* Palestine */
    {"971", 8, 9, 0},        /* United Arab Emirates */
    {"972", 8, 9, 0},        /* Israel */
    {"973", 8, 8, 0},        /* Bahrain */
    {"974", 8, 8, 0},        /* Qatar */
    {"975", 7, 8, 0},        /* Bhutan */
    {"976", 8, 8, 0},        /* Mongolia */
    {"977", 8, 10, 0},       /* Nepal */
    {"979", 9, 9, 0},        /* International premium rate */
    {"98", 10, 10, 0},       /* Iran */
    {"991", 4, 12, 0},       /* ITPCS trial */
    {"992", 9, 9, 0},        /* Tajikistan */
    {"993", 8, 8, 0},        /* Turkmenistan */
    {"994", 9, 9, 0},        /* Azerbaijan */
    {"995", 9, 9, 0},        /* Georgia */
    {"996", 9, 9, 0},        /* Kyrgyzstan */
    {"998", 9, 9, 0},        /* Uzbekistan */
};

/* The entry whose code prefixes s[0..len), or NULL. */
static const struct cc_entry *cc_find(const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof(cc_table) / sizeof(cc_table[0]); i++) {
        size_t n = strlen(cc_table[i].cc);

        if (n <= len && memcmp(cc_table[i].cc, s, n) == 0)
            return &cc_table[i];
    }
    return NULL;
}

/* Canonical digits of an international number, with or without its "00"
 * prefix (see the top of the file). 1 if the country code is assigned and the
 * lengths fit, else 0. */
int detect_valid_e164(const char *s, size_t len)
{
    const struct cc_entry *e;
    size_t cclen, nsn;

    if (s == NULL || len == 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    if (len >= 2 && s[0] == '0' && s[1] == '0') {
        s += 2;
        len -= 2;
    }
    if (len < E164_TOTAL_MIN || s[0] == '0')
        return 0;
    e = cc_find(s, len);
    if (e == NULL)
        return 0;
    cclen = strlen(e->cc);
    nsn = len - cclen;
    /* "+33 (0)1 ...": the bracketed trunk prefix is not part of the number. */
    if (nsn > 0 && s[cclen] == '0' && !(e->flags & CC_ZERO))
        nsn--;
    if (nsn < e->nsn_min || nsn > e->nsn_max)
        return 0;
    return cclen + nsn >= E164_TOTAL_MIN && cclen + nsn <= E164_TOTAL_MAX;
}
