/*
 * bench_scan: how fast the shipped rule set scans, and whether it stays linear.
 *
 * One run prints, for generated inputs (French, English and customs prose,
 * and hostile shapes), the throughput of the whole set through the public
 * API (detect_scan with default flags, i.e. prefiltered), per pack and per
 * rule on French prose, the references that give those figures a scale (a
 * single PCRE2-JIT pass of one detector pattern, the whole set in
 * DETECT_SCAN_FULL mode, normalisation alone, the full redaction path), and
 * the time per MB at 64 KiB .. 4 MiB for every input, so that super-linear
 * behaviour shows as a ratio well above 1.
 *
 * Method (bench/README.md has the reasoning):
 *   - texts are generated in the program from fixed seeds: the same bytes on
 *     every run and every machine;
 *   - each figure: two warm-up calls (errors checked, findings counted), a
 *     calibration that picks the iterations per run so that one run lasts at
 *     least --min-run-ms (60 ms by default), then 5 runs; the figure is the
 *     MEDIAN run, min and max are shown as the spread (the linearity table
 *     uses the fastest run: noise only adds time, and growth is the question);
 *   - wall time is CLOCK_MONOTONIC, CPU time CLOCK_PROCESS_CPUTIME_ID; pin
 *     the process to one core (bench/run.sh does taskset -c 0);
 *   - 1 MB = 1e6 bytes.
 * Any error of the engine (anything but VIGIE_OK) is printed and the program
 * exits non-zero: a benchmark of a scan that failed would be a lie.
 *
 * The benchmark uses only public headers: detect/detect.h, detect/load.h,
 * text/text.h (for the normalisation floor) and pcre2.h (for the reference).
 */
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <pcre2.h>

#include "detect/detect.h"
#include "detect/load.h"
#include "text/text.h"

#ifndef VIGIE_SRC_DIR
#define VIGIE_SRC_DIR "."
#endif

#define KIB ((size_t)1024)
#define MIB (1024 * KIB)
#define MB 1e6

/* The project's goal for the whole set on French prose, per core. */
#define TARGET_MB_S 300.0

#define RUNS_MAX 9
#define SCANNER_CAP (8 * MIB) /* twice VIGIE_SCAN_INPUT_MAX: the 4 MiB inputs fit */
#define GEN_SLACK (64 * KIB)   /* generators overshoot by at most one sentence */

/* Input sizes of the scaling table; tables 1-3 use 1 MiB (256 KiB with --quick). */
static const size_t sizes_full[] = {64 * KIB, 256 * KIB, 1 * MIB, 4 * MIB};
static const size_t sizes_quick[] = {64 * KIB, 256 * KIB};

/* ---- options and small helpers ------------------------------------------------ */

struct opts {
    int json;
    int quick;
    int runs;
    double min_run; /* seconds */
    const char *rules;
    const char *loop; /* --loop KEY: only scan that input, for profilers */
    double loop_s;
    long loop_calls; /* --loop-calls N: that many calls instead of loop_s seconds */
};

static struct opts opt = {0, 0, 5, 0.060, VIGIE_SRC_DIR "/rules", NULL, 5.0, 0};

static _Noreturn void die(const char *what, int rc)
{
    fprintf(stderr, "bench_scan: %s: %s (%d)\n", what, vigie_strerror(rc), rc);
    exit(1);
}

static void check(int rc, const char *what)
{
    if (rc != VIGIE_OK)
        die(what, rc);
}

static double clock_s(clockid_t c)
{
    struct timespec ts;

    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Start of the UTF-8 character at or before off: prefixes of generated texts
 * are cut there, so every input handed to the scanner is valid UTF-8. */
static size_t char_floor(const char *t, size_t off)
{
    while (off > 0 && ((unsigned char)t[off] & 0xC0) == 0x80)
        off--;
    return off;
}

/* ---- deterministic generation ------------------------------------------------ */

/* splitmix64: tiny, fast, and good enough to pick words. */
struct rng {
    uint64_t s;
};

static uint64_t rng_u64(struct rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static unsigned rng_below(struct rng *r, unsigned n)
{
    return (unsigned)(rng_u64(r) % n);
}

#define PICK(r, arr) ((arr)[rng_below((r), (unsigned)(sizeof(arr) / sizeof((arr)[0])))])

/* A generated text and where its PII values were put. */
struct gen {
    struct vigie_buf b;
    struct rng r;
    size_t *pii_end; /* end offset of each inserted value */
    size_t npii, pii_cap;
    size_t next_pii; /* offset after which the next PII sentence goes */
};

static void put(struct gen *g, const char *s)
{
    check(vigie_buf_append(&g->b, s, strlen(s)), "generating text");
}

static void putn(struct gen *g, const char *s, size_t n)
{
    check(vigie_buf_append(&g->b, s, n), "generating text");
}

/* Appends s with its first letter in upper case (ASCII only: the vocabulary
 * starts every entry that may open a sentence with an ASCII letter). */
static void put_cap(struct gen *g, const char *s)
{
    char c = s[0];

    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    putn(g, &c, 1);
    put(g, s + 1);
}

static void putf(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct gen *g, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        die("generating text", VIGIE_ERR_INVAL);
    putn(g, tmp, (size_t)n);
}

static void put_digits(struct gen *g, unsigned n)
{
    char d;

    while (n-- > 0) {
        d = (char)('0' + rng_below(&g->r, 10));
        putn(g, &d, 1);
    }
}

static void pii_mark(struct gen *g)
{
    if (g->npii == g->pii_cap) {
        size_t ncap = g->pii_cap ? 2 * g->pii_cap : 256;
        size_t *nv = realloc(g->pii_end, ncap * sizeof(*nv));
        if (nv == NULL)
            die("generating text", VIGIE_ERR_NOMEM);
        g->pii_end = nv;
        g->pii_cap = ncap;
    }
    g->pii_end[g->npii++] = g->b.len;
}

static void gen_init(struct gen *g, uint64_t seed, size_t size)
{
    memset(g, 0, sizeof(*g));
    vigie_buf_init(&g->b, size + GEN_SLACK);
    g->r.s = seed;
}

static int pii_due(struct gen *g, size_t every)
{
    if (every == 0 || g->b.len < g->next_pii)
        return 0;
    /* About every `every` bytes, jittered by +-25 %: a fixed period would
     * line values up with the scanner's windows in a way prose never does. */
    g->next_pii = g->b.len + every * 3 / 4 + rng_below(&g->r, (unsigned)(every / 2 + 1));
    return 1;
}

/* Values from the rules' own examples (the YAML files under rules/): checksum-valid, so the
 * validators accept them and the scan does its full work on each. */
static const char *const ex_email[] = {"jean.dupont@example.fr", "camille.roux@douane.example.org",
                                       "marie-claire+douane@sub.example.com"};
static const char *const ex_phone[] = {"06 39 98 00 01", "01.99.00.12.34", "+33 6 39 98 45 67",
                                       "+33 (0)1 99 00 12 34", "0033639981234",
                                       "06-39-98-00-01"};
static const char *const ex_iban[] = {"FR76 3000 6000 0112 3456 7890 189",
                                      "FR7630006000011234567890189",
                                      "FR14 2004 1010 0505 0001 3M02 606",
                                      "DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32",
                                      "BE68 5390 0754 7034", "NL91 ABNA 0417 1643 00"};
static const char *const ex_card[] = {"4970 1012 3456 7893", "4111 1111 1111 1111",
                                      "5555-5555-5555-4444", "2223 0000 4840 0011",
                                      "3782 822463 10005", "6011111111111117"};
static const char *const ex_nir[] = {"2 95 10 99 126 111 93", "1 85 05 78 006 084 91",
                                     "2 53 07 2A 073 004 43", "253072B07300470",
                                     "180127512345642"};

enum pii_kind { PII_EMAIL = 0, PII_PHONE, PII_IBAN, PII_CARD, PII_NIR, PII_KINDS };

/* Sentence frames for each kind: "%" marks where the value goes; the first
 * frames carry a context word, the others do not. */
static const char *const fr_pii_frames[PII_KINDS][3] = {
    {"Vous pouvez m'écrire à l'adresse électronique % pour toute question.",
     "Copie à % et au secrétariat.", "Réponse envoyée par % hier soir."},
    {"Vous pouvez me joindre au % en fin de journée.", "Tél. : % (standard).",
     "Rappeler le % avant midi."},
    {"Merci d'effectuer le virement sur le compte % avant vendredi.",
     "Coordonnées bancaires : % au nom de la société.", "Référence % indiquée sur la facture."},
    {"Le paiement a été fait avec la carte bancaire % le mois dernier.",
     "Carte n° % refusée au guichet.", "Débit % constaté ce matin."},
    {"Numéro de sécurité sociale : %, à vérifier.", "Son NIR % figure sur la carte Vitale.",
     "Dossier % transmis à la caisse."},
};

static const char *const en_pii_frames[PII_KINDS][3] = {
    {"Please send the signed copy by email to % before Friday.",
     "Forwarded to % and the front desk.", "Reply from % arrived last night."},
    {"You can call me on % after five.", "Phone: % (switchboard).",
     "Ring % before noon."},
    {"Please wire the amount to bank account % by the end of the month.",
     "Account % is the one on the invoice.", "Reference % was quoted twice."},
    {"The booking was paid with credit card % last week.", "Card % was declined at the desk.",
     "Charge % appeared this morning."},
    {"My social security number is %, as requested.", "NIR % is on file.",
     "File % was sent to the fund."},
};

/* With `distinct`, e-mail addresses and phone numbers (the two kinds that are
 * pseudonymised, so the only ones that create map entries) are made unique:
 * a prompt listing many different people, the case numbering must scale for. */
static void put_pii(struct gen *g, const char *const frames[PII_KINDS][3], int distinct)
{
    unsigned kind = rng_below(&g->r, PII_KINDS);
    const char *frame = frames[kind][rng_below(&g->r, 3)];
    const char *pct = strchr(frame, '%');
    char val[80];

    switch (kind) {
    case PII_EMAIL:
        if (distinct)
            snprintf(val, sizeof(val), "agent.%u@example.fr", (unsigned)g->npii);
        else
            snprintf(val, sizeof(val), "%s", PICK(&g->r, ex_email));
        break;
    case PII_PHONE:
        if (distinct)
            snprintf(val, sizeof(val), "06 %02u %02u %02u %02u", rng_below(&g->r, 100),
                     rng_below(&g->r, 100), rng_below(&g->r, 100), rng_below(&g->r, 100));
        else
            snprintf(val, sizeof(val), "%s", PICK(&g->r, ex_phone));
        break;
    case PII_IBAN:
        snprintf(val, sizeof(val), "%s", PICK(&g->r, ex_iban));
        break;
    case PII_CARD:
        snprintf(val, sizeof(val), "%s", PICK(&g->r, ex_card));
        break;
    default:
        snprintf(val, sizeof(val), "%s", PICK(&g->r, ex_nir));
        break;
    }
    putn(g, frame, (size_t)(pct - frame));
    put(g, val);
    pii_mark(g);
    put(g, pct + 1);
}

/* ---- French prose ---------------------------------------------------------------- */

static const char *const fr_conn[] = {
    "", "", "", "", "", "", "Par ailleurs, ", "Cependant, ", "En effet, ", "De plus, ",
    "Toutefois, ", "Ainsi, ", "En outre, ", "Néanmoins, ", "Bien entendu, ", "À ce jour, ",
    "Hier, ", "Comme convenu, ", "Pour mémoire, ", "Entre-temps, "};
static const char *const fr_subj[] = {
    "le directeur régional", "la société Lefèvre et fils", "notre équipe",
    "l'administration fiscale", "le client", "madame Dubreuil", "monsieur Girard",
    "le service des douanes", "cette procédure", "la déclaration préalable", "le transporteur",
    "l'entreprise", "le bureau de Besançon", "chaque salarié", "le comité de pilotage",
    "la préfecture", "le médecin du travail", "Hélène", "François", "le secrétariat général",
    "la mairie de Périgueux", "un agent de l'État", "le fournisseur", "la banque",
    "le propriétaire", "le locataire", "l'expert-comptable", "le conseil d'administration",
    "Jérôme Lemaître", "la responsable des achats", "l'équipe de Noël", "le gérant"};
static const char *const fr_verb[] = {
    "a envoyé", "doit vérifier", "présentera", "a reçu", "examine", "souhaite modifier",
    "a refusé", "prépare", "confirme", "transmettra", "a oublié", "réclame", "a déjà validé",
    "n'a pas encore signé", "devra compléter", "a égaré", "conteste", "accepte",
    "propose de reporter", "étudie", "a relu", "fera suivre", "attend toujours", "a corrigé"};
static const char *const fr_obj[] = {
    "le dossier complet", "une réponse détaillée", "les pièces justificatives",
    "la facture définitive", "un courrier recommandé", "la demande de remboursement",
    "le contrat de location", "l'attestation d'assurance", "le procès-verbal de la réunion",
    "les résultats de l'enquête", "le devis révisé", "la liste des participants",
    "le rapport annuel", "une nouvelle proposition", "les données du trimestre",
    "l'avis d'imposition", "le bon de commande", "la convention de stage",
    "les horaires d'ouverture", "le plan de formation", "la note de synthèse",
    "le compte rendu", "l'état des lieux", "les échéances prévues"};
static const char *const fr_circ[] = {
    "avant la fin de la semaine", "dès que possible", "à Besançon", "en début d'après-midi",
    "malgré les difficultés rencontrées", "conformément à la réglementation en vigueur",
    "depuis le mois dernier", "grâce à l'aide de Françoise", "sans délai",
    "après la réunion de lundi", "pour le compte de la société", "au siège de Montréal",
    "à l'issue de l'entretien", "en raison des congés d'été", "avec l'accord du responsable",
    "dans les meilleurs délais", "à la demande du tribunal", "au cours de l'année écoulée",
    "près de la gare de Lyon", "auprès du service compétent", "à côté de l'hôpital",
    "pendant la période d'essai", "faute de réponse", "d'après Amélie"};
static const char *const fr_months[] = {"janvier", "février", "mars", "avril", "mai", "juin",
                                        "juillet", "août", "septembre", "octobre", "novembre",
                                        "décembre"};
static const char *const fr_streets[] = {"rue des Lilas", "avenue Jean-Jaurès",
                                         "boulevard Gambetta", "place de l'Église",
                                         "chemin des Prés"};

/* Ordinary prose has a few small numbers: dates, times, amounts, addresses. */
static void fr_number(struct gen *g)
{
    switch (rng_below(&g->r, 5)) {
    case 0:
        putf(g, " le %u ", 1 + rng_below(&g->r, 28));
        put(g, PICK(&g->r, fr_months));
        putf(g, " %u", 2019 + rng_below(&g->r, 7));
        break;
    case 1:
        putf(g, " à %uh", 8 + rng_below(&g->r, 11));
        putf(g, "%02u", 15 * rng_below(&g->r, 4));
        break;
    case 2:
        putf(g, " pour un montant de %u", 20 + rng_below(&g->r, 5000));
        putf(g, ",%02u euros", rng_below(&g->r, 100));
        break;
    case 3:
        putf(g, " au %u ", 1 + rng_below(&g->r, 140));
        put(g, PICK(&g->r, fr_streets));
        break;
    default:
        putf(g, " sous %u jours", 2 + rng_below(&g->r, 60));
        break;
    }
}

/* nbsp: French typography as word processors write it: a no-break space
 * before ; : ! ? and inside « », and the curly apostrophe. */
static void fr_sentence(struct gen *g, int typo)
{
    const char *conn = PICK(&g->r, fr_conn), *subj = PICK(&g->r, fr_subj);
    const char *nb = typo ? "\xC2\xA0" : " ";
    unsigned p = rng_below(&g->r, 100), quote = rng_below(&g->r, 100) < 6;

    put(g, conn);
    if (quote) {
        put(g, "«");
        put(g, nb);
    }
    if (*conn == '\0')
        put_cap(g, subj);
    else
        put(g, subj);
    put(g, " ");
    put(g, PICK(&g->r, fr_verb));
    put(g, " ");
    put(g, PICK(&g->r, fr_obj));
    if (rng_below(&g->r, 100) < 70) {
        put(g, rng_below(&g->r, 100) < 15 ? ", " : " ");
        put(g, PICK(&g->r, fr_circ));
    }
    if (rng_below(&g->r, 100) < 15)
        fr_number(g);
    if (rng_below(&g->r, 100) < 8) {
        put(g, " (voir l'annexe ");
        putf(g, "%u)", 1 + rng_below(&g->r, 9));
    }
    if (quote) {
        put(g, nb);
        put(g, "»");
    }
    if (p < 8) {
        put(g, nb);
        put(g, "?");
    } else if (p < 11) {
        put(g, nb);
        put(g, "!");
    } else if (p < 16) {
        put(g, nb);
        put(g, ";");
        put(g, " ");
        put(g, PICK(&g->r, fr_subj));
        put(g, " ");
        put(g, PICK(&g->r, fr_verb));
        put(g, " ");
        put(g, PICK(&g->r, fr_obj));
        put(g, ".");
    } else {
        put(g, ".");
    }
}

static void fr_text(struct gen *g, size_t size, size_t pii_every, int distinct, int typo)
{
    g->next_pii = pii_every / 2;
    while (g->b.len < size) {
        unsigned k, n = 3 + rng_below(&g->r, 5);
        for (k = 0; k < n; k++) {
            if (k > 0)
                put(g, " ");
            if (pii_due(g, pii_every))
                put_pii(g, fr_pii_frames, distinct);
            else
                fr_sentence(g, typo);
        }
        put(g, "\n\n");
    }
    if (typo) {
        /* The apostrophe as typeset: U+2019. */
        struct vigie_buf t;
        size_t i, k = 0, from = 0;
        vigie_buf_init(&t, g->b.max * 2);
        for (i = 0; i <= g->b.len; i++) {
            /* PII end offsets move by the bytes added before them. */
            while (k < g->npii && g->pii_end[k] == i)
                g->pii_end[k++] = t.len + (i - from);
            if (i == g->b.len || g->b.data[i] != '\'')
                continue;
            check(vigie_buf_append(&t, g->b.data + from, i - from), "generating text");
            check(vigie_buf_append(&t, "\xE2\x80\x99", 3), "generating text");
            from = i + 1;
        }
        check(vigie_buf_append(&t, g->b.data + from, g->b.len - from), "generating text");
        vigie_buf_free(&g->b);
        g->b = t;
    }
}

/* ---- English prose --------------------------------------------------------------- */

static const char *const en_conn[] = {"", "", "", "", "", "", "However, ", "Meanwhile, ",
                                      "In addition, ", "As agreed, ", "Unfortunately, ",
                                      "For the record, ", "Yesterday, ", "Of course, "};
static const char *const en_subj[] = {
    "the regional manager", "the customer", "our team", "the tax office", "Mrs Thompson",
    "Mr Patel", "the customs broker", "this procedure", "the carrier", "the company",
    "the Leeds office", "every employee", "the steering committee", "the landlord",
    "the tenant", "the accountant", "the board", "Sarah", "the supplier", "the bank",
    "the purchasing lead", "the night shift", "Daniel O'Connor", "the auditor"};
static const char *const en_verb[] = {
    "has sent", "must check", "will present", "received", "is reviewing", "wants to amend",
    "refused", "is preparing", "confirmed", "will forward", "forgot", "is asking for",
    "already approved", "has not yet signed", "will complete", "lost", "disputes", "accepts",
    "proposes to postpone", "is studying", "proofread", "corrected"};
static const char *const en_obj[] = {
    "the complete file", "a detailed answer", "the supporting documents", "the final invoice",
    "a registered letter", "the refund request", "the lease agreement", "the insurance certificate",
    "the minutes of the meeting", "the survey results", "the revised quote",
    "the list of attendees", "the annual report", "a new proposal", "the quarterly figures",
    "the tax notice", "the purchase order", "the training plan", "the summary note",
    "the opening hours"};
static const char *const en_circ[] = {
    "before the end of the week", "as soon as possible", "in Manchester", "early in the afternoon",
    "despite the difficulties", "in line with current regulations", "since last month",
    "with help from Margaret", "without delay", "after Monday's meeting",
    "on behalf of the company", "at the Toronto office", "after the interview",
    "because of the summer holidays", "with the manager's approval", "at the court's request",
    "over the past year", "near the station", "with the relevant department", "during the trial period"};
static const char *const en_months[] = {"January", "February", "March", "April", "May", "June",
                                        "July", "August", "September", "October", "November",
                                        "December"};

static void en_sentence(struct gen *g)
{
    const char *conn = PICK(&g->r, en_conn), *subj = PICK(&g->r, en_subj);
    unsigned p = rng_below(&g->r, 100);

    put(g, conn);
    if (*conn == '\0')
        put_cap(g, subj);
    else
        put(g, subj);
    put(g, " ");
    put(g, PICK(&g->r, en_verb));
    put(g, " ");
    put(g, PICK(&g->r, en_obj));
    if (rng_below(&g->r, 100) < 70) {
        put(g, " ");
        put(g, PICK(&g->r, en_circ));
    }
    if (rng_below(&g->r, 100) < 15) {
        switch (rng_below(&g->r, 3)) {
        case 0:
            put(g, " on ");
            put(g, PICK(&g->r, en_months));
            putf(g, " %u,", 1 + rng_below(&g->r, 28));
            putf(g, " %u", 2019 + rng_below(&g->r, 7));
            break;
        case 1:
            putf(g, " for $%u", 20 + rng_below(&g->r, 5000));
            putf(g, ".%02u", rng_below(&g->r, 100));
            break;
        default:
            putf(g, " within %u days", 2 + rng_below(&g->r, 60));
            break;
        }
    }
    put(g, p < 8 ? "?" : p < 11 ? "!" : ".");
}

static void en_text(struct gen *g, size_t size, size_t pii_every)
{
    g->next_pii = pii_every / 2;
    while (g->b.len < size) {
        unsigned k, n = 3 + rng_below(&g->r, 5);
        for (k = 0; k < n; k++) {
            if (k > 0)
                put(g, " ");
            if (pii_due(g, pii_every))
                put_pii(g, en_pii_frames, 0);
            else
                en_sentence(g);
        }
        put(g, "\n\n");
    }
}

/* ---- customs prose: dense with numbers ------------------------------------------- */

static const char *const cu_goods[] = {
    "café vert non torréfié", "machines automatiques de traitement de l'information",
    "téléphones portables", "tee-shirts en coton", "pièces détachées automobiles",
    "vins de Bordeaux", "jouets en plastique", "panneaux photovoltaïques", "montres-bracelets",
    "bicyclettes électriques", "médicaments conditionnés", "fromages à pâte dure"};
static const char *const cu_ports[] = {"Le Havre", "Marseille-Fos", "Roissy-CDG", "Dunkerque",
                                       "Saint-Nazaire", "Lyon-Saint-Exupéry", "Anvers", "Rotterdam"};

static void cu_taric(struct gen *g)
{
    /* 10-digit TARIC code written the usual ways: "0901 21 00 00",
     * "8471.30.00.00", "6109100010". */
    unsigned style = rng_below(&g->r, 3);

    put_digits(g, 4);
    put(g, style == 0 ? " " : style == 1 ? "." : "");
    put_digits(g, 2);
    put(g, style == 0 ? " " : style == 1 ? "." : "");
    put_digits(g, 2);
    put(g, style == 0 ? " " : style == 1 ? "." : "");
    put_digits(g, 2);
}

static void cu_amount(struct gen *g)
{
    unsigned k = rng_below(&g->r, 3);

    putf(g, "%u", 1 + rng_below(&g->r, 999));
    while (k-- > 0)
        putf(g, " %03u", rng_below(&g->r, 1000));
    putf(g, ",%02u", rng_below(&g->r, 100));
}

static void cu_date(struct gen *g)
{
    putf(g, "%02u", 1 + rng_below(&g->r, 28));
    putf(g, rng_below(&g->r, 2) ? "/%02u/" : ".%02u.", 1 + rng_below(&g->r, 12));
    putf(g, "%u", 2019 + rng_below(&g->r, 7));
}

static void cu_sentence(struct gen *g)
{
    switch (rng_below(&g->r, 12)) {
    case 0:
        put(g, "Les ");
        put(g, PICK(&g->r, cu_goods));
        put(g, " relèvent de la position tarifaire ");
        cu_taric(g);
        put(g, " (code TARIC).");
        break;
    case 1:
        put(g, "Montant des droits de douane : ");
        cu_amount(g);
        put(g, " EUR, TVA à l'importation ");
        cu_amount(g);
        put(g, " EUR.");
        break;
    case 2:
        put(g, "Déclaration n° ");
        /* An MRN: year, country, 13 characters, a check character. */
        putf(g, "%02u", 19 + rng_below(&g->r, 7));
        put(g, "FRXDL");
        put_digits(g, 9);
        put(g, "R");
        put_digits(g, 1);
        put(g, " du ");
        cu_date(g);
        put(g, ", bureau de ");
        put(g, PICK(&g->r, cu_ports));
        put(g, ".");
        break;
    case 3:
        putf(g, "Conformément à l'article %u du code des douanes", 1 + rng_below(&g->r, 470));
        putf(g, " et à l'article %u du règlement (UE) n° 952/2013,", 1 + rng_below(&g->r, 280));
        put(g, " la dette douanière est notifiée au déclarant.");
        break;
    case 4:
        put(g, "Numéro EORI FR");
        put_digits(g, 14);
        put(g, ", SIRET ");
        put_digits(g, 3);
        put(g, " ");
        put_digits(g, 3);
        put(g, " ");
        put_digits(g, 3);
        put(g, " ");
        put_digits(g, 5);
        put(g, ".");
        break;
    case 5:
        putf(g, "Poids net %u", 1 + rng_below(&g->r, 99));
        putf(g, " %03u kg", rng_below(&g->r, 1000));
        putf(g, ", poids brut %u", 1 + rng_below(&g->r, 99));
        putf(g, " %03u kg", rng_below(&g->r, 1000));
        putf(g, ", %u colis, conteneur MSCU", 1 + rng_below(&g->r, 400));
        put_digits(g, 7);
        put(g, ".");
        break;
    case 6:
        putf(g, "Facture FAC-%u-", 2019 + rng_below(&g->r, 7));
        put_digits(g, 5);
        put(g, " du ");
        cu_date(g);
        put(g, ", valeur en douane ");
        cu_amount(g);
        put(g, " EUR, taux de droit ");
        putf(g, "%u,", rng_below(&g->r, 18));
        putf(g, "%u %%.", rng_below(&g->r, 10));
        break;
    case 7:
        put(g, "Code NC ");
        put_digits(g, 4);
        put(g, " ");
        put_digits(g, 2);
        put(g, " ");
        put_digits(g, 2);
        put(g, ", origine préférentielle, certificat EUR.1 n° A ");
        put_digits(g, 7);
        put(g, ".");
        break;
    case 8:
        putf(g, "Le délai de recours est de %u jours", 10 + rng_below(&g->r, 50));
        put(g, " à compter du ");
        cu_date(g);
        putf(g, " (art. %u CDU).", 1 + rng_below(&g->r, 280));
        break;
    default:
        /* Ordinary sentences between the figures. */
        fr_sentence(g, 0);
        break;
    }
}

static void cu_text(struct gen *g, size_t size, size_t pii_every)
{
    g->next_pii = pii_every / 2;
    while (g->b.len < size) {
        unsigned k, n = 3 + rng_below(&g->r, 5);
        for (k = 0; k < n; k++) {
            if (k > 0)
                put(g, " ");
            if (pii_due(g, pii_every))
                put_pii(g, fr_pii_frames, 0);
            else
                cu_sentence(g);
        }
        put(g, "\n");
    }
}

/* ---- hostile shapes --------------------------------------------------------------- */

/* "3 1 4 1 5 9 …": every byte is a digit or a separator, so the digit
 * prefilter sees one run covering the whole text. */
static void h_digit_soup(struct gen *g, size_t size)
{
    char two[2] = {'0', ' '};

    while (g->b.len < size) {
        two[0] = (char)('0' + rng_below(&g->r, 10));
        putn(g, two, 2);
    }
}

/* Lines of 1,000 random digits. */
static void h_digit_runs(struct gen *g, size_t size)
{
    while (g->b.len < size) {
        put_digits(g, 1000);
        put(g, "\n");
    }
}

static void h_at_storm(struct gen *g, size_t size)
{
    while (g->b.len < size)
        put(g, "a@a@a@a@a@a@a@a@a@a@a@a@a@a@a@a@");
}

/* "4xxx xxxx xxxx xxxx, ": card-shaped, random digits, so about one in ten
 * passes Luhn and becomes a finding (with its context lookup). */
static void h_card_groups(struct gen *g, size_t size)
{
    while (g->b.len < size) {
        put(g, "4");
        put_digits(g, 3);
        put(g, " ");
        put_digits(g, 4);
        put(g, " ");
        put_digits(g, 4);
        put(g, " ");
        put_digits(g, 4);
        put(g, ", ");
    }
}

static void h_fr76(struct gen *g, size_t size)
{
    while (g->b.len < size)
        put(g, "FR76 FR76 FR76 FR76 FR76 FR76 FR76 FR76 ");
}

/* One token of random lower-case letters, no space, no newline. */
static void h_letters(struct gen *g, size_t size)
{
    char c;

    while (g->b.len < size) {
        c = (char)('a' + rng_below(&g->r, 26));
        putn(g, &c, 1);
    }
}

/* Lines of 16 KiB of random capitals. */
static void h_capitals(struct gen *g, size_t size)
{
    char c;
    size_t col = 0;

    while (g->b.len < size) {
        c = (char)('A' + rng_below(&g->r, 26));
        putn(g, &c, 1);
        if (++col == 16 * KIB) {
            put(g, "\n");
            col = 0;
        }
    }
}

/* ---- the inputs --------------------------------------------------------------------- */

enum input_id {
    IN_FR = 0,  /* French prose, no PII */
    IN_FR_PII,  /* French prose, a PII value about every 1.5 KB */
    IN_FR_TYPO, /* same, typeset: no-break spaces, curly apostrophes */
    IN_EN,
    IN_EN_PII,
    IN_CUSTOMS,
    IN_DIGIT_SOUP,
    IN_DIGIT_RUNS,
    IN_AT_STORM,
    IN_CARDS,
    IN_FR76,
    IN_LETTERS,
    IN_CAPITALS,
    IN_FR_DISTINCT, /* for the redaction path only: every e-mail and phone unique */
    IN_COUNT
};

struct input {
    const char *key;  /* JSON key */
    const char *name; /* table label */
    int hostile;
    int target; /* the 300 MB/s goal applies */
};

static struct gen gens[IN_COUNT];

static const struct input inputs[IN_COUNT] = {
    [IN_FR] = {"fr", "French prose", 0, 1},
    [IN_FR_PII] = {"fr_pii", "French prose + PII /1.5 KB", 0, 1},
    [IN_FR_TYPO] = {"fr_pii_typo", "French, typeset (NBSP, ’) + PII", 0, 1},
    [IN_EN] = {"en", "English prose", 0, 0},
    [IN_EN_PII] = {"en_pii", "English prose + PII /1.5 KB", 0, 0},
    [IN_CUSTOMS] = {"customs", "Customs prose (dense numbers)", 0, 0},
    [IN_DIGIT_SOUP] = {"digit_soup", "hostile: digit soup \"3 1 4 …\"", 1, 0},
    [IN_DIGIT_RUNS] = {"digit_runs", "hostile: 1000-digit runs", 1, 0},
    [IN_AT_STORM] = {"at_storm", "hostile: \"a@\" storm", 1, 0},
    [IN_CARDS] = {"card_groups", "hostile: 4xxx xxxx xxxx xxxx, …", 1, 0},
    [IN_FR76] = {"fr76", "hostile: \"FR76 \" repeated", 1, 0},
    [IN_LETTERS] = {"letters", "hostile: one token of letters", 1, 0},
    [IN_CAPITALS] = {"capitals", "hostile: 16 KiB lines of capitals", 1, 0},
    [IN_FR_DISTINCT] = {"fr_pii_distinct", "French + PII, all values distinct", 0, 0},
};

static void inputs_generate(size_t size)
{
    size_t i;

    for (i = 0; i < IN_COUNT; i++) {
        struct gen *g = &gens[i];
        gen_init(g, 0x766967696500ull + i, size); /* "vigie" + index */
        switch ((enum input_id)i) {
        case IN_FR:
            fr_text(g, size, 0, 0, 0);
            break;
        case IN_FR_PII:
            fr_text(g, size, 1500, 0, 0);
            break;
        case IN_FR_TYPO:
            fr_text(g, size, 1500, 0, 1);
            break;
        case IN_EN:
            en_text(g, size, 0);
            break;
        case IN_EN_PII:
            en_text(g, size, 1500);
            break;
        case IN_CUSTOMS:
            /* "A few real identifiers": one every 3 KB or so. */
            cu_text(g, size, 3000);
            break;
        case IN_DIGIT_SOUP:
            h_digit_soup(g, size);
            break;
        case IN_DIGIT_RUNS:
            h_digit_runs(g, size);
            break;
        case IN_AT_STORM:
            h_at_storm(g, size);
            break;
        case IN_CARDS:
            h_card_groups(g, size);
            break;
        case IN_FR76:
            h_fr76(g, size);
            break;
        case IN_LETTERS:
            h_letters(g, size);
            break;
        case IN_CAPITALS:
            h_capitals(g, size);
            break;
        case IN_FR_DISTINCT:
            fr_text(g, size, 1500, 1, 0);
            break;
        case IN_COUNT:
            break;
        }
    }
}

/* Length of the prefix of a generated text used at nominal size `size`. */
static size_t input_len(const struct gen *g, size_t size)
{
    size_t n = size < g->b.len ? size : g->b.len;

    return char_floor(g->b.data, n);
}

static size_t input_npii(const struct gen *g, size_t len)
{
    size_t k, c = 0;

    for (k = 0; k < g->npii; k++)
        c += g->pii_end[k] <= len;
    return c;
}

/* ---- what is timed ------------------------------------------------------------------ */

enum job_kind {
    JOB_SCAN = 0, /* detect_scan */
    JOB_REDACT,   /* detect_redact: scan + mask + rescan, a fresh map per call */
    JOB_PCRE,     /* one pattern over the whole text with pcre2_match */
    JOB_NORM,     /* text_normalise alone: the floor under every scan */
    JOB_PROMPT    /* detect_scan, then detect_redact reusing it, as policy_decide does */
};

struct job {
    enum job_kind kind;
    const char *what; /* for error messages */
    struct detect_scanner *sc;
    const struct detect_rule *rule;
    unsigned flags;
    const pcre2_code *re;
    pcre2_match_data *md;
    struct text_norm *norm;
    const char *text;
    size_t len;
    size_t findings; /* of the last call */
};

static int job_pcre(struct job *j)
{
    size_t pos = 0, count = 0;
    uint32_t o = 0; /* the first call checks the UTF-8, later ones need not */

    while (pos <= j->len) {
        PCRE2_SIZE *ov;
        int rc = pcre2_match(j->re, (PCRE2_SPTR)j->text, j->len, pos, o, j->md, NULL);

        o = PCRE2_NO_UTF_CHECK;
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0)
            return VIGIE_ERR_MATCH;
        ov = pcre2_get_ovector_pointer(j->md);
        count++;
        pos = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
        while (pos < j->len && ((unsigned char)j->text[pos] & 0xC0) == 0x80)
            pos++;
    }
    j->findings = count;
    return VIGIE_OK;
}

static int job_redact(struct job *j)
{
    struct detect_revmap *map = detect_revmap_new();
    struct vigie_buf out;
    int blocked = 0, rc;

    if (map == NULL)
        return VIGIE_ERR_NOMEM;
    vigie_buf_init(&out, 4 * j->len + 4096);
    rc = detect_redact(j->sc, j->text, j->len, NULL, map, &out, &blocked);
    if (rc == VIGIE_OK)
        detect_redact_findings(j->sc, &j->findings);
    vigie_buf_free(&out);
    detect_revmap_free(map);
    return rc;
}

/* A prompt with something to rewrite, as policy_decide() treats it: pass 1
 * scans it, then detect_redact() masks it from that scan's findings and
 * rescans its own output (the egress check). */
static int job_prompt(struct job *j)
{
    struct detect_revmap *map = detect_revmap_new();
    struct detect_mask_opts o;
    struct vigie_buf out;
    int blocked = 0, rc;

    if (map == NULL)
        return VIGIE_ERR_NOMEM;
    memset(&o, 0, sizeof(o));
    o.reuse_scan = 1;
    vigie_buf_init(&out, 4 * j->len + 4096);
    rc = detect_scan(j->sc, j->text, j->len, NULL, 0);
    if (rc == VIGIE_OK)
        rc = detect_redact(j->sc, j->text, j->len, &o, map, &out, &blocked);
    if (rc == VIGIE_OK)
        detect_redact_findings(j->sc, &j->findings);
    vigie_buf_free(&out);
    detect_revmap_free(map);
    return rc;
}

static int job_run(struct job *j)
{
    int rc;

    switch (j->kind) {
    case JOB_SCAN:
        rc = detect_scan(j->sc, j->text, j->len, j->rule, j->flags);
        if (rc == VIGIE_OK)
            detect_scanner_findings(j->sc, &j->findings);
        return rc;
    case JOB_REDACT:
        return job_redact(j);
    case JOB_PCRE:
        return job_pcre(j);
    case JOB_NORM:
        j->findings = 0;
        return text_normalise(j->norm, j->text, j->len);
    case JOB_PROMPT:
        return job_prompt(j);
    }
    return VIGIE_ERR_INVAL;
}

struct timing {
    double wall, wall_min, wall_max; /* seconds per call: median, min, max run */
    double cpu;                      /* CPU seconds per call, median run */
    size_t iters;                    /* calls per run */
    int runs;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void job_call(struct job *j)
{
    int rc = job_run(j);

    if (rc != VIGIE_OK) {
        char what[256];
        snprintf(what, sizeof(what), "%s (%zu bytes)", j->what, j->len);
        die(what, rc);
    }
}

/* Warm-up, calibration, then opt.runs timed runs of `iters` calls each. */
static struct timing measure(struct job *j)
{
    struct timing t;
    double wall[RUNS_MAX], cpu[RUNS_MAX], t0, t1, c0;
    size_t k, batch = 1;
    int r;

    memset(&t, 0, sizeof(t));
    job_call(j); /* first call: buffers grow to this size */
    job_call(j);
    /* Calibrate on batches growing until one takes 10 ms (or one call is
     * already longer than that). */
    for (;;) {
        t0 = clock_s(CLOCK_MONOTONIC);
        for (k = 0; k < batch; k++)
            job_call(j);
        t1 = clock_s(CLOCK_MONOTONIC);
        if (t1 - t0 >= 0.010 || batch >= ((size_t)1 << 24))
            break;
        batch *= 2;
    }
    t.iters = (size_t)(opt.min_run / ((t1 - t0) / (double)batch)) + 1;
    t.runs = opt.runs;
    for (r = 0; r < opt.runs; r++) {
        c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        t0 = clock_s(CLOCK_MONOTONIC);
        for (k = 0; k < t.iters; k++)
            job_call(j);
        t1 = clock_s(CLOCK_MONOTONIC);
        cpu[r] = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) / (double)t.iters;
        wall[r] = (t1 - t0) / (double)t.iters;
    }
    /* The CPU time reported is that of the median wall run. */
    for (r = 0; r < opt.runs; r++) {
        int below = 0, k2;
        for (k2 = 0; k2 < opt.runs; k2++)
            below += wall[k2] < wall[r] || (wall[k2] == wall[r] && k2 < r);
        if (below == opt.runs / 2)
            t.cpu = cpu[r];
    }
    qsort(wall, (size_t)opt.runs, sizeof(wall[0]), cmp_double);
    t.wall = wall[opt.runs / 2];
    t.wall_min = wall[0];
    t.wall_max = wall[opt.runs - 1];
    return t;
}

static double mb_s(size_t bytes, double s)
{
    return s > 0 ? (double)bytes / MB / s : 0;
}

/* ---- results --------------------------------------------------------------------------- */

enum section {
    SEC_WHOLE = 0, /* 1. whole set per input, headline size */
    SEC_PACK,      /* 2. per pack, French prose */
    SEC_RULE,      /* 2. per rule, prefiltered and full */
    SEC_REF,       /* 3. references */
    SEC_SCALE,     /* 4. scaling */
    SEC_SMALL      /* 5. prompt-sized inputs */
};

struct row {
    enum section sec;
    char key[64];   /* JSON name */
    char name[96];  /* table label */
    char extra[48]; /* pack of a rule, etc. */
    size_t bytes;
    size_t findings;
    long pii; /* values inserted, -1 when not applicable */
    int target;
    struct timing t;
    struct timing t2; /* SEC_RULE: DETECT_SCAN_FULL */
};

static struct row *rows;
static size_t nrows, rows_cap;

static struct row *row_add(enum section sec, const char *key, const char *name)
{
    struct row *r;

    if (nrows == rows_cap) {
        size_t ncap = rows_cap ? 2 * rows_cap : 64;
        struct row *nv = realloc(rows, ncap * sizeof(*nv));
        if (nv == NULL)
            die("results", VIGIE_ERR_NOMEM);
        rows = nv;
        rows_cap = ncap;
    }
    r = &rows[nrows++];
    memset(r, 0, sizeof(*r));
    r->sec = sec;
    r->pii = -1;
    snprintf(r->key, sizeof(r->key), "%s", key);
    snprintf(r->name, sizeof(r->name), "%s", name);
    return r;
}

/* 1 if rows[i] is the first scaling row of its input: the scaling rows of one
 * input are not contiguous (table 1's rows are added between sizes). */
static int scale_first(size_t i)
{
    size_t k;

    if (rows[i].sec != SEC_SCALE)
        return 0;
    for (k = 0; k < i; k++)
        if (rows[k].sec == SEC_SCALE && strcmp(rows[k].key, rows[i].key) == 0)
            return 0;
    return 1;
}

/* The next scaling row of rows[i]'s input after rows[i], or nrows. */
static size_t scale_next(size_t i)
{
    size_t k;

    for (k = i + 1; k < nrows; k++)
        if (rows[k].sec == SEC_SCALE && strcmp(rows[k].key, rows[i].key) == 0)
            return k;
    return nrows;
}

static const struct row *row_find(enum section sec, const char *key, size_t bytes)
{
    size_t i;

    for (i = 0; i < nrows; i++)
        if (rows[i].sec == sec && strcmp(rows[i].key, key) == 0 &&
            (bytes == 0 || rows[i].bytes == bytes))
            return &rows[i];
    return NULL;
}

/* ---- machine facts ------------------------------------------------------------------------ */

struct facts {
    char cpu[128];
    long online;
    int affinity; /* CPUs this process may run on */
    int on_cpu;
    char kernel[3 * 65 + 8];
    char pcre2[64];
    uint32_t jit;
    char jit_target[96];
    const char *compiler;
    int optimised, ndebug;
};

static void facts_get(struct facts *f)
{
    FILE *fp = fopen("/proc/cpuinfo", "r");
    char line[512];
    cpu_set_t set;
    struct utsname u;

    memset(f, 0, sizeof(*f));
    snprintf(f->cpu, sizeof(f->cpu), "unknown");
    if (fp != NULL) {
        while (fgets(line, sizeof(line), fp) != NULL) {
            char *colon = strchr(line, ':');
            if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
                colon += 2;
                colon[strcspn(colon, "\n")] = '\0';
                snprintf(f->cpu, sizeof(f->cpu), "%s", colon);
                break;
            }
        }
        fclose(fp);
    }
    f->online = sysconf(_SC_NPROCESSORS_ONLN);
    CPU_ZERO(&set);
    f->affinity = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : -1;
    f->on_cpu = sched_getcpu();
    if (uname(&u) == 0)
        snprintf(f->kernel, sizeof(f->kernel), "%s %s %s", u.sysname, u.release, u.machine);
    pcre2_config(PCRE2_CONFIG_VERSION, f->pcre2);
    if (pcre2_config(PCRE2_CONFIG_JIT, &f->jit) != 0)
        f->jit = 0;
    snprintf(f->jit_target, sizeof(f->jit_target), "none");
    if (f->jit)
        pcre2_config(PCRE2_CONFIG_JITTARGET, f->jit_target);
#ifdef __VERSION__
    f->compiler = __VERSION__;
#else
    f->compiler = "unknown";
#endif
#ifdef __OPTIMIZE__
    f->optimised = 1;
#endif
#ifdef NDEBUG
    f->ndebug = 1;
#endif
}

/* ---- the benchmark --------------------------------------------------------------------- */

static struct detect_set *load(const char *path, double *ms)
{
    const char *paths[1];
    struct vigie_diag d;
    struct detect_set *set;
    double t0 = clock_s(CLOCK_MONOTONIC);
    size_t i;

    paths[0] = path;
    vigie_diag_init(&d);
    set = detect_load_paths(paths, 1, &d);
    *ms = (clock_s(CLOCK_MONOTONIC) - t0) * 1e3;
    for (i = 0; i < d.n; i++)
        fprintf(stderr, "%s\n", d.msgs[i]);
    vigie_diag_free(&d);
    if (set == NULL) {
        fprintf(stderr, "bench_scan: cannot load rules from %s\n", path);
        exit(1);
    }
    return set;
}

static struct detect_scanner *scanner(const struct detect_set *set)
{
    struct detect_scanner *sc = detect_scanner_new(set, SCANNER_CAP);

    if (sc == NULL)
        die("detect_scanner_new", VIGIE_ERR_NOMEM);
    return sc;
}

static struct timing time_scan(struct detect_scanner *sc, const struct detect_rule *rule,
                               unsigned flags, const char *text, size_t len, const char *what,
                               size_t *findings)
{
    struct job j;
    struct timing t;

    memset(&j, 0, sizeof(j));
    j.kind = JOB_SCAN;
    j.what = what;
    j.sc = sc;
    j.rule = rule;
    j.flags = flags;
    j.text = text;
    j.len = len;
    t = measure(&j);
    *findings = j.findings;
    return t;
}

/* The reference pattern: contact.phone.fr as shipped. It is checked against
 * the pack file so that a change of the rule shows here rather than silently
 * comparing with an old pattern. */
static const char ref_pattern[] =
    "(?<![\\w+])(?:(?:\\+|00)33[ .\\-]?(?:\\(0\\)[ .\\-]?)?|0)[1-9]([ .\\-]?)\\d{2}(?:\\1\\d{2})"
    "{3}(?![\\w])(?![ .\\-]\\d)";

static int ref_pattern_current(const char *rules_dir)
{
    char path[1024], err[256];
    struct vigie_buf b;
    int found;

    snprintf(path, sizeof(path), "%s/contact.yaml", rules_dir);
    if (vigie_file_read(path, 1 << 20, &b, err, sizeof(err)) != VIGIE_OK)
        return 0;
    found = strstr(b.data, ref_pattern) != NULL;
    vigie_buf_free(&b);
    return found;
}

static int ref_pattern_ok;
static size_t head_size; /* nominal size of the headline figures */
static size_t fr_len;    /* bytes of French prose + PII at that size */

static void run_all(const struct facts *f, struct detect_set *set)
{
    const size_t *sizes = opt.quick ? sizes_quick : sizes_full;
    size_t nsizes = opt.quick ? 2 : 4;
    struct detect_scanner *sc = scanner(set);
    static const char *const suffixes[] = {".yaml", ".yml", NULL};
    char **files = NULL, err[512], what[160];
    const struct gen *fr = &gens[IN_FR_PII];
    size_t frlen = fr_len, i, k, n;
    struct timing t;
    struct row *r;
    int rc;

    /* 1 + 4: every input at every size; the headline size feeds table 1. */
    for (i = 0; i < IN_COUNT; i++) {
        const struct input *in = &inputs[i];
        const struct gen *g = &gens[i];
        if (i == IN_FR_DISTINCT)
            continue; /* a redaction-only input */
        for (k = 0; k < nsizes; k++) {
            size_t len = input_len(g, sizes[k]);
            long pii = g->npii ? (long)input_npii(g, len) : -1;
            if (sizes[k] > SCANNER_CAP)
                continue;
            snprintf(what, sizeof(what), "detect_scan on %s", in->key);
            t = time_scan(sc, NULL, 0, g->b.data, len, what, &n);
            r = row_add(SEC_SCALE, in->key, in->name);
            r->bytes = len;
            r->findings = n;
            r->pii = pii;
            r->t = t;
            if (sizes[k] == head_size) {
                r = row_add(SEC_WHOLE, in->key, in->name);
                r->bytes = len;
                r->findings = n;
                r->pii = pii;
                r->t = t;
                r->target = in->target;
            }
        }
    }

    /* 2. Per pack: one set per pack file. */
    rc = vigie_path_list(opt.rules, suffixes, 256, &files, err, sizeof(err));
    if (rc != VIGIE_OK) {
        fprintf(stderr, "bench_scan: %s\n", err);
        exit(1);
    }
    for (i = 0; files[i] != NULL; i++) {
        double ms;
        struct detect_set *ps = load(files[i], &ms);
        struct detect_scanner *psc = scanner(ps);
        snprintf(what, sizeof(what), "detect_scan, pack %s", files[i]);
        t = time_scan(psc, NULL, 0, fr->b.data, frlen, what, &n);
        r = row_add(SEC_PACK, detect_set_pack_name(ps, 0), detect_set_pack_name(ps, 0));
        snprintf(r->extra, sizeof(r->extra), "%zu rule%s", detect_set_nrules(ps),
                 detect_set_nrules(ps) == 1 ? "" : "s");
        r->bytes = frlen;
        r->findings = n;
        r->t = t;
        detect_scanner_free(psc);
        detect_set_free(ps);
    }
    vigie_paths_free(files);

    /* 2. Per rule, prefiltered and full, through only_rule. */
    for (i = 0; i < detect_set_nrules(set); i++) {
        const struct detect_rule *rule = detect_set_rule(set, i);
        size_t nfull;
        r = row_add(SEC_RULE, detect_rule_id(rule), detect_rule_id(rule));
        snprintf(r->extra, sizeof(r->extra), "%s", detect_rule_pack(rule));
        snprintf(what, sizeof(what), "detect_scan only_rule %s", detect_rule_id(rule));
        r->t = time_scan(sc, rule, 0, fr->b.data, frlen, what, &r->findings);
        snprintf(what, sizeof(what), "detect_scan only_rule %s FULL", detect_rule_id(rule));
        r->t2 = time_scan(sc, rule, DETECT_SCAN_FULL, fr->b.data, frlen, what, &nfull);
        r->bytes = frlen;
        if (nfull != r->findings)
            fprintf(stderr,
                    "bench_scan: WARNING: %s finds %zu prefiltered but %zu in full mode\n",
                    detect_rule_id(rule), r->findings, nfull);
    }

    /* 3. References on the same French text. */
    {
        struct text_norm norm;
        struct job j;
        int ec;
        PCRE2_SIZE eo;
        pcre2_code *re;

        /* The floor: normalisation alone (part of every scan). */
        text_norm_init(&norm, SCANNER_CAP);
        memset(&j, 0, sizeof(j));
        j.kind = JOB_NORM;
        j.what = "text_normalise";
        j.norm = &norm;
        j.text = fr->b.data;
        j.len = frlen;
        r = row_add(SEC_REF, "normalise", "text_normalise only (floor of any scan)");
        r->bytes = frlen;
        r->t = measure(&j);
        text_norm_fini(&norm);

        /* One PCRE2-JIT pass of one detector pattern, compiled as the engine
         * compiles (UTF, no UCP). */
        ref_pattern_ok = ref_pattern_current(opt.rules);
        re = pcre2_compile((PCRE2_SPTR)ref_pattern, PCRE2_ZERO_TERMINATED,
                           PCRE2_UTF | PCRE2_NEVER_BACKSLASH_C, &ec, &eo, NULL);
        if (re == NULL)
            die("pcre2_compile of the reference pattern", VIGIE_ERR_CONFIG);
        if (pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) != 0 && f->jit)
            fprintf(stderr, "bench_scan: WARNING: JIT compilation of the reference failed\n");
        memset(&j, 0, sizeof(j));
        j.kind = JOB_PCRE;
        j.what = "pcre2_match reference";
        j.re = re;
        j.md = pcre2_match_data_create_from_pattern(re, NULL);
        if (j.md == NULL)
            die("pcre2_match_data_create", VIGIE_ERR_NOMEM);
        j.text = fr->b.data;
        j.len = frlen;
        r = row_add(SEC_REF, "pcre2_jit_single", "one PCRE2-JIT pass, contact.phone.fr pattern");
        r->bytes = frlen;
        r->t = measure(&j);
        r->findings = j.findings;
        pcre2_match_data_free(j.md);
        pcre2_code_free(re);

        r = row_add(SEC_REF, "whole_full", "whole set, DETECT_SCAN_FULL (naive)");
        r->bytes = frlen;
        r->t = time_scan(sc, NULL, DETECT_SCAN_FULL, fr->b.data, frlen,
                         "detect_scan FULL", &r->findings);

        r = row_add(SEC_REF, "whole_prefiltered", "whole set, prefiltered (default)");
        r->bytes = frlen;
        r->t = time_scan(sc, NULL, 0, fr->b.data, frlen, "detect_scan", &r->findings);
        r->target = 1;

        memset(&j, 0, sizeof(j));
        j.kind = JOB_REDACT;
        j.what = "detect_redact";
        j.sc = sc;
        j.text = fr->b.data;
        j.len = frlen;
        r = row_add(SEC_REF, "redact", "detect_redact (scan + mask + rescan)");
        r->bytes = frlen;
        r->t = measure(&j);
        r->findings = j.findings;
    }

    /* 4 (redaction): the full path at every size, with the shipped example
     * values and with values all distinct. */
    for (i = 0; i < 2; i++) {
        const struct input *in = &inputs[i == 0 ? IN_FR_PII : IN_FR_DISTINCT];
        const struct gen *g = &gens[i == 0 ? IN_FR_PII : IN_FR_DISTINCT];
        char key[64], name[96];
        snprintf(key, sizeof(key), "redact_%s", in->key);
        snprintf(name, sizeof(name), "redact: %s", i == 0 ? "French + PII (example values)"
                                                         : "French + PII (distinct values)");
        for (k = 0; k < nsizes; k++) {
            struct job j;
            memset(&j, 0, sizeof(j));
            j.kind = JOB_REDACT;
            j.what = "detect_redact";
            j.sc = sc;
            j.text = g->b.data;
            j.len = input_len(g, sizes[k]);
            r = row_add(SEC_SCALE, key, name);
            r->bytes = j.len;
            r->t = measure(&j);
            r->findings = j.findings;
            r->pii = (long)input_npii(g, j.len);
        }
    }

    /* 5. Prompt-sized inputs: per-call cost, fixed costs included. */
    {
        static const size_t small[] = {2 * KIB, 16 * KIB};
        for (k = 0; k < 2; k++) {
            size_t len = input_len(fr, small[k]);
            struct job j;
            char key[64], name[96];
            snprintf(key, sizeof(key), "scan_%zuk", small[k] / KIB);
            snprintf(name, sizeof(name), "detect_scan, French + PII, %zu KiB", small[k] / KIB);
            r = row_add(SEC_SMALL, key, name);
            r->bytes = len;
            r->t = time_scan(sc, NULL, 0, fr->b.data, len, "detect_scan small", &r->findings);
            memset(&j, 0, sizeof(j));
            j.kind = JOB_REDACT;
            j.what = "detect_redact small";
            j.sc = sc;
            j.text = fr->b.data;
            j.len = len;
            snprintf(key, sizeof(key), "redact_%zuk", small[k] / KIB);
            snprintf(name, sizeof(name), "detect_redact, French + PII, %zu KiB", small[k] / KIB);
            r = row_add(SEC_SMALL, key, name);
            r->bytes = len;
            r->t = measure(&j);
            r->findings = j.findings;
        }
    }
    detect_scanner_free(sc);
}

/* ---- output: table ------------------------------------------------------------------------ */

/* Prints s left-aligned in `width` columns, counting characters rather than
 * bytes ("’" and "…" are one column each), so UTF-8 labels line up. */
static void pad(const char *s, int width)
{
    int cols = 0;
    const char *p;

    for (p = s; *p != '\0'; p++)
        cols += ((unsigned char)*p & 0xC0) != 0x80;
    fputs(s, stdout);
    while (cols++ < width)
        putchar(' ');
}

static const char *size_label(size_t bytes, char *buf, size_t sz)
{
    if (bytes >= MIB - 8)
        snprintf(buf, sz, "%.0f MiB", (double)bytes / (double)MIB);
    else
        snprintf(buf, sz, "%.0f KiB", (double)bytes / (double)KIB);
    return buf;
}

static void print_facts(const struct facts *f, const struct detect_set *set, double load_ms,
                        double total_s)
{
    size_t i;

    printf("vigie scan benchmark (bench/scan_bench.c)\n\n");
    printf("  cpu        %s; %ld online, this process may run on %d (now on cpu %d)%s\n",
           f->cpu, f->online, f->affinity, f->on_cpu,
           f->affinity == 1 ? "" : "  <- NOT PINNED: use bench/run.sh or taskset -c 0");
    printf("  kernel     %s\n", f->kernel);
    printf("  compiler   %s, %s%s\n", f->compiler, f->optimised ? "optimised" : "NOT OPTIMISED",
           f->ndebug ? ", NDEBUG" : "");
    printf("  pcre2      %s, JIT %s (%s)\n", f->pcre2, f->jit ? "on" : "OFF", f->jit_target);
    printf("  rules      %s: %zu packs (", opt.rules, detect_set_npacks(set));
    for (i = 0; i < detect_set_npacks(set); i++)
        printf("%s%s", i ? ", " : "", detect_set_pack_name(set, i));
    printf("), %zu rules, loaded and self-checked in %.1f ms\n", detect_set_nrules(set),
           load_ms);
    printf("  scanner    max_input %zu MiB\n", SCANNER_CAP / MIB);
    printf("  method     each figure = MEDIAN of %d runs, each run >= %.0f ms of repeated calls,\n"
           "             after 2 warm-up calls and a calibration; wall = CLOCK_MONOTONIC,\n"
           "             cpu = CLOCK_PROCESS_CPUTIME_ID; spread = slowest..fastest run;\n"
           "             1 MB = 1e6 bytes; texts generated from fixed seeds\n",
           opt.runs, opt.min_run * 1e3);
    printf("  target     whole set >= %.0f MB/s per core on French prose (project goal)\n",
           TARGET_MB_S);
    printf("  run time   %.1f s\n\n", total_s);
}

static void print_timing_cols(size_t bytes, const struct timing *t)
{
    printf(" %8.1f  %7.1f..%-7.1f %8.1f", mb_s(bytes, t->wall), mb_s(bytes, t->wall_max),
           mb_s(bytes, t->wall_min), mb_s(bytes, t->cpu));
}

static const char *verdict(double v)
{
    return v >= TARGET_MB_S ? "meets 300" : "BELOW 300";
}

static void print_table(const struct facts *f, const struct detect_set *set, double load_ms,
                        double total_s)
{
    char sz[32];
    size_t i, j;
    const struct row *full = row_find(SEC_REF, "whole_full", 0);
    const struct row *pref = row_find(SEC_REF, "whole_prefiltered", 0);

    print_facts(f, set, load_ms, total_s);

    printf("1. Whole rule set, detect_scan default flags (prefiltered), %s inputs\n\n",
           size_label(head_size, sz, sizeof(sz)));
    printf("  %-36s %9s %6s %8s  %8s  %-16s %8s  %s\n", "input", "bytes", "PII", "findings",
           "MB/s", "spread MB/s", "cpu MB/s", "goal");
    for (i = 0; i < nrows; i++) {
        const struct row *r = &rows[i];
        char pii[24] = "-";
        if (r->sec != SEC_WHOLE)
            continue;
        if (r->pii >= 0)
            snprintf(pii, sizeof(pii), "%ld", r->pii);
        printf("  ");
        pad(r->name, 36);
        printf(" %9zu %6s %8zu ", r->bytes, pii, r->findings);
        print_timing_cols(r->bytes, &r->t);
        printf("  %s\n", r->target ? verdict(mb_s(r->bytes, r->t.wall)) : "");
    }

    printf("\n2. Per pack and per rule, French prose + PII (%zu bytes)\n", fr_len);
    printf("   per pack: a set loaded from that one file; per rule: detect_scan(only_rule).\n"
           "   Every figure includes the normalisation and the prefilter pass of its set.\n\n");
    printf("  %-20s %-10s %8s  %8s  %-16s %8s\n", "pack", "rules", "findings", "MB/s",
           "spread MB/s", "cpu MB/s");
    for (i = 0; i < nrows; i++) {
        const struct row *r = &rows[i];
        if (r->sec != SEC_PACK)
            continue;
        printf("  %-20s %-10s %8zu ", r->name, r->extra, r->findings);
        print_timing_cols(r->bytes, &r->t);
        printf("\n");
    }
    printf("\n  %-20s %-10s %8s  %8s  %-16s %10s %8s\n", "rule", "pack", "findings",
           "MB/s", "spread MB/s", "FULL MB/s", "speedup");
    for (i = 0; i < nrows; i++) {
        const struct row *r = &rows[i];
        if (r->sec != SEC_RULE)
            continue;
        printf("  %-20s %-10s %8zu  %8.1f  %7.1f..%-7.1f %10.1f %7.1fx\n", r->name, r->extra,
               r->findings, mb_s(r->bytes, r->t.wall), mb_s(r->bytes, r->t.wall_max),
               mb_s(r->bytes, r->t.wall_min), mb_s(r->bytes, r->t2.wall),
               r->t.wall > 0 ? r->t2.wall / r->t.wall : 0);
    }

    printf("\n3. References, same French text + PII (%zu bytes)\n\n", fr_len);
    printf("  %-46s %8s  %8s  %-16s %8s\n", "what", "matches", "MB/s", "spread MB/s",
           "cpu MB/s");
    for (i = 0; i < nrows; i++) {
        const struct row *r = &rows[i];
        char m[24] = "-";
        if (r->sec != SEC_REF)
            continue;
        if (strcmp(r->key, "normalise") != 0)
            snprintf(m, sizeof(m), "%zu", r->findings);
        printf("  %-46s %8s ", r->name, m);
        print_timing_cols(r->bytes, &r->t);
        printf("%s\n", r->target ? (mb_s(r->bytes, r->t.wall) >= TARGET_MB_S ? "  meets 300"
                                                                             : "  BELOW 300")
                                 : "");
    }
    if (full != NULL && pref != NULL)
        printf("\n  prefilter speedup over DETECT_SCAN_FULL: %.1fx (findings %zu vs %zu%s)\n",
               full->t.wall / pref->t.wall, pref->findings, full->findings,
               pref->findings == full->findings ? ", identical count" : ", DIFFERENT");
    printf("  reference pattern %s rules/contact.yaml; compiled PCRE2_UTF, JIT; "
           "first call checks UTF-8\n",
           ref_pattern_ok ? "is the one in" : "NO LONGER MATCHES (update scan_bench.c) in");

    printf("\n4. Linearity: ms per MB at each size, FASTEST of the %d runs (noise only adds time;\n"
           "   the question here is growth), ratio = largest size / smallest size\n\n",
           opt.runs);
    printf("  %-38s", "input");
    for (i = 0; i < nrows && rows[i].sec != SEC_SCALE; i++)
        ;
    for (; i < nrows; i = scale_next(i))
        printf(" %9s", size_label(rows[i].bytes, sz, sizeof(sz)));
    printf(" %7s  %s\n", "ratio", "findings at largest");
    for (i = 0; i < nrows; i++) {
        const struct row *first = &rows[i], *last = first;
        double lo, hi, ratio;
        if (!scale_first(i))
            continue;
        printf("  ");
        pad(first->name, 38);
        for (j = i; j < nrows; j = scale_next(j)) {
            printf(" %9.3f", rows[j].t.wall_min * MB / (double)rows[j].bytes * 1e3);
            last = &rows[j];
        }
        lo = first->t.wall_min / (double)first->bytes;
        hi = last->t.wall_min / (double)last->bytes;
        ratio = lo > 0 ? hi / lo : 0;
        printf(" %7.2f  %zu%s\n", ratio, last->findings,
               ratio > 1.5 ? "  <- GROWS FASTER THAN THE INPUT" : "");
    }

    printf("\n5. Prompt-sized inputs (per call, fixed costs included)\n\n");
    printf("  %-40s %7s %8s %10s %8s\n", "what", "bytes", "findings", "us/call", "MB/s");
    for (i = 0; i < nrows; i++) {
        const struct row *r = &rows[i];
        if (r->sec != SEC_SMALL)
            continue;
        printf("  %-40s %7zu %8zu %10.2f %8.1f\n", r->name, r->bytes, r->findings,
               r->t.wall * 1e6, mb_s(r->bytes, r->t.wall));
    }
}

/* ---- output: JSON ------------------------------------------------------------------------- */

static void json_str(const char *s)
{
    struct vigie_buf b;

    vigie_buf_init(&b, 4096);
    if (vigie_buf_json_str(&b, s, strlen(s)) == VIGIE_OK)
        fputs(b.data, stdout);
    else
        fputs("\"\"", stdout);
    vigie_buf_free(&b);
}

static void json_timing(const char *prefix, size_t bytes, const struct timing *t)
{
    printf("\"%smb_s\": %.2f, \"%smb_s_slowest\": %.2f, \"%smb_s_fastest\": %.2f, "
           "\"%scpu_mb_s\": %.2f, \"%sus_per_call\": %.3f, \"%scalls_per_run\": %zu",
           prefix, mb_s(bytes, t->wall), prefix, mb_s(bytes, t->wall_max), prefix,
           mb_s(bytes, t->wall_min), prefix, mb_s(bytes, t->cpu), prefix, t->wall * 1e6, prefix,
           t->iters);
}

static void json_row(const struct row *r)
{
    printf("{\"name\": ");
    json_str(r->key);
    printf(", \"label\": ");
    json_str(r->name);
    if (r->extra[0] != '\0') {
        printf(", \"%s\": ", r->sec == SEC_RULE ? "pack" : "extra");
        json_str(r->extra);
    }
    printf(", \"bytes\": %zu, \"findings\": %zu", r->bytes, r->findings);
    if (r->pii >= 0)
        printf(", \"pii_inserted\": %ld", r->pii);
    printf(", ");
    json_timing("", r->bytes, &r->t);
    if (r->sec == SEC_RULE) {
        printf(", ");
        json_timing("full_", r->bytes, &r->t2);
    }
    if (r->sec == SEC_SCALE)
        printf(", \"ms_per_mb\": %.4f, \"ms_per_mb_fastest\": %.4f",
               r->t.wall * MB / (double)r->bytes * 1e3,
               r->t.wall_min * MB / (double)r->bytes * 1e3);
    if (r->target)
        printf(", \"meets_target\": %s", mb_s(r->bytes, r->t.wall) >= TARGET_MB_S ? "true"
                                                                                  : "false");
    printf("}");
}

static void json_section(const char *name, enum section sec)
{
    size_t i;
    int first = 1;

    printf("  \"%s\": [", name);
    for (i = 0; i < nrows; i++) {
        if (rows[i].sec != sec)
            continue;
        printf("%s\n    ", first ? "" : ",");
        json_row(&rows[i]);
        first = 0;
    }
    printf("\n  ]");
}

static void print_json(const struct facts *f, const struct detect_set *set, double load_ms,
                       double total_s)
{
    size_t i, j;
    int first = 1;

    printf("{\n  \"machine\": {\"cpu\": ");
    json_str(f->cpu);
    printf(", \"cpus_online\": %ld, \"cpus_allowed\": %d, \"kernel\": ", f->online, f->affinity);
    json_str(f->kernel);
    printf(", \"compiler\": ");
    json_str(f->compiler);
    printf(", \"optimised\": %s, \"ndebug\": %s, \"pcre2\": ", f->optimised ? "true" : "false",
           f->ndebug ? "true" : "false");
    json_str(f->pcre2);
    printf(", \"pcre2_jit\": %s, \"jit_target\": ", f->jit ? "true" : "false");
    json_str(f->jit_target);
    printf("},\n  \"rules\": {\"path\": ");
    json_str(opt.rules);
    printf(", \"packs\": %zu, \"rules\": %zu, \"load_ms\": %.2f},\n", detect_set_npacks(set),
           detect_set_nrules(set), load_ms);
    printf("  \"method\": {\"statistic\": \"median\", \"runs\": %d, \"min_run_ms\": %.0f, "
           "\"clock\": \"CLOCK_MONOTONIC\", \"cpu_clock\": \"CLOCK_PROCESS_CPUTIME_ID\", "
           "\"mb\": 1000000, \"scanner_max_input\": %zu},\n",
           opt.runs, opt.min_run * 1e3, (size_t)SCANNER_CAP);
    printf("  \"target_mb_s\": %.0f,\n  \"run_seconds\": %.2f,\n", TARGET_MB_S, total_s);
    json_section("whole_set", SEC_WHOLE);
    printf(",\n");
    json_section("per_pack", SEC_PACK);
    printf(",\n");
    json_section("per_rule", SEC_RULE);
    printf(",\n");
    json_section("reference", SEC_REF);
    printf(",\n  \"reference_pattern_current\": %s,\n", ref_pattern_ok ? "true" : "false");
    printf("  \"scaling\": [");
    for (i = 0; i < nrows; i++) {
        const struct row *r0 = &rows[i], *last = r0;
        if (!scale_first(i))
            continue;
        printf("%s\n    {\"name\": ", first ? "" : ",");
        json_str(r0->key);
        printf(", \"label\": ");
        json_str(r0->name);
        printf(", \"sizes\": [");
        for (j = i; j < nrows; j = scale_next(j)) {
            printf("%s\n      ", j > i ? "," : "");
            json_row(&rows[j]);
            last = &rows[j];
        }
        /* As in the table: from the fastest runs; the medians' ratio too. */
        printf("],\n     \"ratio_largest_smallest\": %.3f, \"ratio_median\": %.3f}",
               (last->t.wall_min / (double)last->bytes) / (r0->t.wall_min / (double)r0->bytes),
               (last->t.wall / (double)last->bytes) / (r0->t.wall / (double)r0->bytes));
        first = 0;
    }
    printf("\n  ],\n");
    json_section("prompt_sized", SEC_SMALL);
    printf("\n}\n");
}

/* ---- main ------------------------------------------------------------------------------------ */

/* The last "content" string of bench/gateway/prompt.json (the user's
 * message of the gateway benchmark's request), decoded into out. */
static int gateway_prompt(struct vigie_buf *out)
{
    static const char key[] = "\"content\":\"";
    struct vigie_buf file;
    char err[256];
    const char *p = NULL, *q, *end;
    int rc;

    vigie_buf_init(&file, 1u << 20);
    rc = vigie_file_read(VIGIE_SRC_DIR "/bench/gateway/prompt.json", 1u << 20, &file, err,
                         sizeof(err));
    if (rc != VIGIE_OK || file.len == 0) {
        vigie_buf_free(&file);
        return rc != VIGIE_OK ? rc : VIGIE_ERR_INVAL;
    }
    end = file.data + file.len;
    for (q = file.data; (q = memmem(q, (size_t)(end - q), key, sizeof(key) - 1)) != NULL; q++)
        p = q + sizeof(key) - 1;
    rc = p != NULL ? VIGIE_OK : VIGIE_ERR_INVAL;
    while (rc == VIGIE_OK && p < end && *p != '"') {
        unsigned cp;
        char u[4];
        if (*p != '\\') {
            rc = vigie_buf_appendc(out, *p++);
            continue;
        }
        if (++p >= end)
            break;
        switch (*p++) {
        case 'n':
            rc = vigie_buf_appendc(out, '\n');
            break;
        case 't':
            rc = vigie_buf_appendc(out, '\t');
            break;
        case 'r':
            rc = vigie_buf_appendc(out, '\r');
            break;
        case 'b':
            rc = vigie_buf_appendc(out, '\b');
            break;
        case 'f':
            rc = vigie_buf_appendc(out, '\f');
            break;
        case 'u':
            /* BMP only: the prompt has no astral characters. */
            if (end - p < 4 || sscanf(p, "%4x", &cp) != 1 || (cp >= 0xD800 && cp < 0xE000)) {
                rc = VIGIE_ERR_INVAL;
                break;
            }
            p += 4;
            if (cp < 0x80) {
                rc = vigie_buf_appendc(out, (char)cp);
            } else if (cp < 0x800) {
                u[0] = (char)(0xC0 | cp >> 6);
                u[1] = (char)(0x80 | (cp & 0x3F));
                rc = vigie_buf_append(out, u, 2);
            } else {
                u[0] = (char)(0xE0 | cp >> 12);
                u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                u[2] = (char)(0x80 | (cp & 0x3F));
                rc = vigie_buf_append(out, u, 3);
            }
            break;
        default:
            rc = vigie_buf_appendc(out, p[-1]);
            break; /* \" \\ \/ */
        }
    }
    vigie_buf_free(&file);
    return rc;
}

/* --loop KEY: nothing but calls of one kind on one input (headline size) for
 * opt.loop_s seconds (or opt.loop_calls calls: the same work on every run,
 * for callgrind's instruction counts), so that perf or callgrind see only
 * that. KEY is an input's JSON name, or "redact" (detect_redact on French +
 * PII), "full" (DETECT_SCAN_FULL on French + PII) or "prompt" (the gateway
 * benchmark's prompt, scanned then redacted as policy_decide does). */
static int loop_one(struct detect_set *set)
{
    struct detect_scanner *sc = scanner(set);
    struct vigie_buf prompt;
    struct job j;
    size_t i, calls = 0;
    double t0 = clock_s(CLOCK_MONOTONIC), t;

    memset(&j, 0, sizeof(j));
    j.kind = JOB_SCAN;
    j.what = opt.loop;
    j.sc = sc;
    j.text = gens[IN_FR_PII].b.data;
    j.len = fr_len;
    vigie_buf_init(&prompt, 1u << 20);
    if (strcmp(opt.loop, "redact") == 0) {
        j.kind = JOB_REDACT;
    } else if (strcmp(opt.loop, "prompt") == 0) {
        int rc = gateway_prompt(&prompt);
        if (rc != VIGIE_OK)
            die("bench/gateway/prompt.json", rc);
        j.kind = JOB_PROMPT;
        j.text = prompt.data;
        j.len = prompt.len;
    } else if (strcmp(opt.loop, "full") == 0) {
        j.flags = DETECT_SCAN_FULL;
    } else {
        for (i = 0; i < IN_COUNT && strcmp(inputs[i].key, opt.loop) != 0; i++)
            ;
        if (i == IN_COUNT) {
            fprintf(stderr, "bench_scan: --loop: no input named %s\n", opt.loop);
            detect_scanner_free(sc);
            vigie_buf_free(&prompt);
            return 2;
        }
        j.text = gens[i].b.data;
        j.len = input_len(&gens[i], head_size);
    }
    do {
        job_call(&j);
        calls++;
        t = clock_s(CLOCK_MONOTONIC) - t0;
    } while (opt.loop_calls > 0 ? calls < (size_t)opt.loop_calls : t < opt.loop_s);
    printf("%s: %zu calls on %zu bytes, %.1f MB/s, %zu findings\n", opt.loop, calls, j.len,
           mb_s(j.len * calls, t), j.findings);
    detect_scanner_free(sc);
    vigie_buf_free(&prompt);
    return 0;
}

static void usage(void)
{
    printf("usage: bench_scan [--json] [--quick] [--runs N] [--min-run-ms MS] [--rules DIR]\n"
           "       bench_scan --loop KEY [--loop-seconds S | --loop-calls N] [--quick]\n"
           "  --json          print one JSON object instead of the tables\n"
           "  --quick         sizes 64 and 256 KiB only (headline 256 KiB)\n"
           "  --runs N        timed runs per figure, median reported (1..%d; default 5)\n"
           "  --min-run-ms    shortest run (default 60)\n"
           "  --rules DIR     rule packs (default %s)\n"
           "  --loop KEY      for profilers: only scan input KEY (fr, fr_pii, customs, ...,\n"
           "                  or 'full' / 'redact' on fr_pii, or 'prompt': the gateway\n"
           "                  bench's prompt, scanned then redacted) for S seconds\n"
           "                  (default 5), or N calls with --loop-calls\n",
           RUNS_MAX, VIGIE_SRC_DIR "/rules");
}

int main(int argc, char **argv)
{
    struct facts f;
    struct detect_set *set;
    double load_ms, t0 = clock_s(CLOCK_MONOTONIC);
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            opt.json = 1;
        } else if (strcmp(argv[i], "--quick") == 0) {
            opt.quick = 1;
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            opt.runs = (int)v;
            if (*end != '\0' || v < 1 || v > RUNS_MAX) {
                usage();
                return 2;
            }
        } else if (strcmp(argv[i], "--min-run-ms") == 0 && i + 1 < argc) {
            char *end;
            opt.min_run = strtod(argv[++i], &end) / 1e3;
            if (*end != '\0' || !(opt.min_run > 0 && opt.min_run < 10)) {
                usage();
                return 2;
            }
        } else if (strcmp(argv[i], "--loop") == 0 && i + 1 < argc) {
            opt.loop = argv[++i];
        } else if (strcmp(argv[i], "--loop-seconds") == 0 && i + 1 < argc) {
            char *end;
            opt.loop_s = strtod(argv[++i], &end);
            if (*end != '\0' || !(opt.loop_s > 0)) {
                usage();
                return 2;
            }
        } else if (strcmp(argv[i], "--loop-calls") == 0 && i + 1 < argc) {
            char *end;
            opt.loop_calls = strtol(argv[++i], &end, 10);
            if (*end != '\0' || opt.loop_calls < 1) {
                usage();
                return 2;
            }
        } else if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc) {
            opt.rules = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage();
            return 0;
        } else {
            usage();
            return 2;
        }
    }

    facts_get(&f);
    set = load(opt.rules, &load_ms);
    inputs_generate(opt.quick ? 256 * KIB : 4 * MIB);
    head_size = opt.quick ? 256 * KIB : 1 * MIB;
    fr_len = input_len(&gens[IN_FR_PII], head_size);
    if (opt.loop != NULL) {
        int rc = loop_one(set);
        for (i = 0; i < IN_COUNT; i++) {
            vigie_buf_free(&gens[i].b);
            free(gens[i].pii_end);
        }
        detect_set_free(set);
        return rc;
    }
    run_all(&f, set);
    if (opt.json)
        print_json(&f, set, load_ms, clock_s(CLOCK_MONOTONIC) - t0);
    else
        print_table(&f, set, load_ms, clock_s(CLOCK_MONOTONIC) - t0);

    for (i = 0; i < IN_COUNT; i++) {
        vigie_buf_free(&gens[i].b);
        free(gens[i].pii_end);
    }
    free(rows);
    detect_set_free(set);
    return 0;
}
