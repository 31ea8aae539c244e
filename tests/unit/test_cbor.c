/* test_cbor.c: the canonical CBOR codec of metadata (trove_value_encode / trove_value_decode):
 * encodings of every value type checked against the examples of RFC 8949 Appendix A (written
 * here by hand from the RFC, not from a run), round trips, and refusal of everything that is
 * not the one canonical encoding: non-shortest heads, indefinite lengths, tags, short floats,
 * simple values, non-canonical NaN, unsorted/duplicate/non-text/NUL keys, invalid UTF-8, lying
 * counts (refused before any allocation), nesting beyond the limit, trailing bytes. */
#include <math.h>
#include <stdlib.h>

#include "testlib.h"

/* Hex text to bytes; returns the length. Spaces are ignored. */
static size_t unhex(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = hex; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        unsigned v;
        if (n >= cap || sscanf(p, "%2x", &v) != 1)
            abort();
        out[n++] = (unsigned char)v;
        p += 2;
    }
    return n;
}

static unsigned char inbuf[4096];

/* Decode hex; on success check that it re-encodes to the same bytes. */
static int decode_hex(const char *hex, uint32_t max_depth, trove_value **out, trove_error *err)
{
    size_t n = unhex(hex, inbuf, sizeof inbuf);
    int rc = trove_value_decode(inbuf, n, NULL, max_depth, out, err);
    if (rc == TROVE_OK) {
        uint8_t *enc = NULL;
        size_t elen = 0;
        if (trove_value_encode(*out, NULL, &enc, &elen, err) != TROVE_OK || elen != n ||
            memcmp(enc, inbuf, n) != 0) {
            fprintf(stderr, "  %s does not re-encode to itself\n", hex);
            rc = -1000;
        }
        trove_free(NULL, enc);
    }
    return rc;
}

/* Encode v (consumed) and compare with hex. */
static int encodes_as(trove_value *v, const char *hex)
{
    unsigned char want[512];
    size_t n = unhex(hex, want, sizeof want);
    uint8_t *enc = NULL;
    size_t elen = 0;
    int ok = v && trove_value_encode(v, NULL, &enc, &elen, NULL) == TROVE_OK && elen == n &&
             memcmp(enc, want, n) == 0;
    if (!ok && v && enc) {
        fprintf(stderr, "  encoded:");
        for (size_t i = 0; i < elen; i++)
            fprintf(stderr, "%02x", enc[i]);
        fprintf(stderr, " want %s\n", hex);
    }
    trove_free(NULL, enc);
    trove_value_free(v);
    return ok;
}

/* The refusal of hex: code and a substring of the message. */
#define REFUSED(hex, depth, want_, needle)                                                          \
    do {                                                                                           \
        trove_value *v_ = NULL;                                                                    \
        trove_error e_ = {0};                                                                      \
        int rc_ = decode_hex((hex), (depth), &v_, &e_);                                            \
        if (rc_ != (want_) || v_ != NULL || e_.code != (want_) || !strstr(e_.message, (needle))) {   \
            fprintf(stderr, "  %s -> %d '%s' (want %d '%s')\n", (hex), rc_, e_.message, (want_),    \
                    (needle));                                                                     \
            trove_value_free(v_);                                                                  \
            test_fail(__FILE__, __LINE__, hex);                                                    \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static void test_cbor__rfc_integers(void)
{
    static const struct { const char *hex; int64_t v; } ints[] = {
        {"00", 0}, {"01", 1}, {"0a", 10}, {"17", 23}, {"1818", 24}, {"1819", 25}, {"1864", 100},
        {"1903e8", 1000}, {"1a000f4240", 1000000}, {"1b000000e8d4a51000", 1000000000000},
        {"20", -1}, {"29", -10}, {"3863", -100}, {"3903e7", -1000},
        /* INT64 bounds (not in Appendix A; from the head rules of section 3) */
        {"1b7fffffffffffffff", INT64_MAX}, {"3b7fffffffffffffff", INT64_MIN},
    };
    trove_error err = {0};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        trove_value *v = NULL;
        CHECK_OK(decode_hex(ints[i].hex, 0, &v, &err));
        int64_t got = 0;
        int rc = trove_value_get_int(v, &got);
        int type = trove_value_type_of(v);
        trove_value_free(v);
        CHECK(rc == TROVE_OK && type == TROVE_VALUE_INT && got == ints[i].v);
        CHECK(encodes_as(trove_value_int(NULL, ints[i].v), ints[i].hex));
    }
    /* 18446744073709551615: a uint above INT64_MAX */
    trove_value *v = NULL;
    CHECK_OK(decode_hex("1bffffffffffffffff", 0, &v, &err));
    uint64_t u = 0;
    int rc = trove_value_get_uint(v, &u);
    int type = trove_value_type_of(v);
    int64_t i64;
    int rc2 = trove_value_get_int(v, &i64);
    trove_value_free(v);
    CHECK(rc == TROVE_OK && type == TROVE_VALUE_UINT && u == UINT64_MAX && rc2 == TROVE_E_TYPE);
    CHECK(encodes_as(trove_value_uint(NULL, UINT64_MAX), "1bffffffffffffffff"));
    /* A uint that fits int64 is one integer kind on disk: it reads back as INT. */
    CHECK(encodes_as(trove_value_uint(NULL, 1000), "1903e8"));
    /* -18446744073709551616 (RFC example) is below INT64_MIN: not representable, refused. */
    REFUSED("3bffffffffffffffff", 0, TROVE_E_CORRUPT, "below INT64_MIN");
    REFUSED("3b8000000000000000", 0, TROVE_E_CORRUPT, "below INT64_MIN");
}

static void test_cbor__rfc_floats_and_simple(void)
{
    static const struct { const char *hex; double v; } fl[] = {
        {"fb3ff199999999999a", 1.1}, {"fb7e37e43c8800759c", 1.0e300},
        {"fbc010666666666666", -4.1}, {"fb0000000000000000", 0.0}, {"fb8000000000000000", -0.0},
        {"fb7ff0000000000000", INFINITY}, {"fbfff0000000000000", -INFINITY},
    };
    trove_error err = {0};
    for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++) {
        trove_value *v = NULL;
        CHECK_OK(decode_hex(fl[i].hex, 0, &v, &err));
        double d = 0;
        int rc = trove_value_get_float(v, &d);
        int type = trove_value_type_of(v);
        trove_value_free(v);
        CHECK(rc == TROVE_OK && type == TROVE_VALUE_FLOAT && d == fl[i].v &&
              signbit(d) == signbit(fl[i].v));
        CHECK(encodes_as(trove_value_float(NULL, fl[i].v), fl[i].hex));
    }
    /* NaN: one canonical encoding (quiet, positive, zero payload), whatever NaN was stored. */
    trove_value *v = NULL;
    CHECK_OK(decode_hex("fb7ff8000000000000", 0, &v, &err));
    double d = 0;
    CHECK(trove_value_get_float(v, &d) == TROVE_OK && isnan(d));
    trove_value_free(v);
    CHECK(encodes_as(trove_value_float(NULL, -NAN), "fb7ff8000000000000"));
    /* false, true, null */
    const char *simple[3] = {"f4", "f5", "f6"};
    for (int i = 0; i < 3; i++) {
        CHECK_OK(decode_hex(simple[i], 0, &v, &err));
        int b = -1;
        int type = trove_value_type_of(v);
        int rc = trove_value_get_bool(v, &b);
        trove_value_free(v);
        CHECK(i < 2 ? type == TROVE_VALUE_BOOL && rc == TROVE_OK && b == i
                    : type == TROVE_VALUE_NULL && rc == TROVE_E_TYPE);
    }
    CHECK(encodes_as(trove_value_bool(NULL, 0), "f4"));
    CHECK(encodes_as(trove_value_bool(NULL, 7), "f5"));
    CHECK(encodes_as(trove_value_null(NULL), "f6"));
}

static void test_cbor__rfc_strings(void)
{
    static const struct { const char *hex; const char *s; size_t len; int bytes; } st[] = {
        {"40", "", 0, 1}, {"4401020304", "\x01\x02\x03\x04", 4, 1}, {"60", "", 0, 0},
        {"6161", "a", 1, 0}, {"6449455446", "IETF", 4, 0}, {"62225c", "\"\\", 2, 0},
        {"62c3bc", "\xc3\xbc", 2, 0}, {"63e6b0b4", "\xe6\xb0\xb4", 3, 0},
        {"64f0908591", "\xf0\x90\x85\x91", 4, 0},
        /* A NUL inside a text value (not a key) is valid UTF-8 and kept. */
        {"63610062", "a\0b", 3, 0},
    };
    trove_error err = {0};
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
        trove_value *v = NULL;
        CHECK_OK(decode_hex(st[i].hex, 0, &v, &err));
        const void *p = NULL;
        size_t len = 99;
        int rc = st[i].bytes ? trove_value_get_bytes(v, &p, &len)
                             : trove_value_get_string(v, (const char **)&p, &len);
        int same = rc == TROVE_OK && len == st[i].len && memcmp(p, st[i].s, len) == 0;
        int nul = st[i].bytes || ((const char *)p)[len] == '\0';
        trove_value_free(v);
        CHECK(same && nul);
        CHECK(encodes_as(st[i].bytes ? trove_value_bytes(NULL, st[i].s, st[i].len)
                                     : trove_value_string(NULL, st[i].s, st[i].len),
                         st[i].hex));
    }
    /* 24-byte string: the length moves to a one-byte argument. */
    CHECK(encodes_as(trove_value_cstring(NULL, "abcdefghijklmnopqrstuvwx"),
                     "7818 6162636465666768696a6b6c6d6e6f707172737475767778"));
}

static void test_cbor__rfc_arrays_and_maps(void)
{
    trove_error err = {0};
    const char *valid[] = {
        "80", "83010203", "8301820203820405",
        "98190102030405060708090a0b0c0d0e0f101112131415161718181819",
        "a0", "a26161016162820203", "826161a161626163",
        "a56161614161626142616361436164614461656145",
    };
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        trove_value *v = NULL;
        CHECK_OK(decode_hex(valid[i], 0, &v, &err));
        trove_value_free(v);
    }
    /* {"a": 1, "b": [2, 3]}: structure and values */
    trove_value *v = NULL;
    CHECK_OK(decode_hex("a26161016162820203", 0, &v, &err));
    const trove_value *b = trove_value_get(v, "b");
    int64_t a = 0, b1 = 0;
    int ok = trove_value_type_of(v) == TROVE_VALUE_MAP && trove_value_count(v) == 2 &&
             trove_value_get_int(trove_value_get(v, "a"), &a) == TROVE_OK && a == 1 &&
             trove_value_count(b) == 2 &&
             trove_value_get_int(trove_value_at(b, 1), &b1) == TROVE_OK && b1 == 3;
    trove_value_free(v);
    CHECK(ok);
    /* Built in any order, encoded in canonical order: shorter keys first, then bytewise. */
    trove_value *m = trove_value_map(NULL);
    trove_value *arr = trove_value_array(NULL);
    CHECK(m && arr);
    int rc = trove_value_array_take(arr, trove_value_int(NULL, 2));
    rc |= trove_value_array_take(arr, trove_value_int(NULL, 3));
    rc |= trove_value_map_set(m, "b", arr);
    rc |= trove_value_map_set(m, "a", trove_value_int(NULL, 1));
    CHECK(rc == 0);
    CHECK(encodes_as(m, "a26161016162820203"));
    m = trove_value_map(NULL);
    rc = trove_value_map_set(m, "aa", trove_value_int(NULL, 2));
    rc |= trove_value_map_set(m, "b", trove_value_int(NULL, 1));
    rc |= trove_value_map_set(m, "B", trove_value_int(NULL, 0));
    CHECK(rc == 0);
    CHECK(encodes_as(m, "a3 614200 616201 62616102"));
    /* Every value type in one tree round-trips to an equal tree. */
    m = trove_value_map(NULL);
    rc = trove_value_map_set(m, "n", trove_value_null(NULL));
    rc |= trove_value_map_set(m, "t", trove_value_bool(NULL, 1));
    rc |= trove_value_map_set(m, "i", trove_value_int(NULL, -5));
    rc |= trove_value_map_set(m, "u", trove_value_uint(NULL, UINT64_MAX - 1));
    rc |= trove_value_map_set(m, "f", trove_value_float(NULL, 0.1));
    rc |= trove_value_map_set(m, "s", trove_value_cstring(NULL, "\xe2\x82\xac"));
    rc |= trove_value_map_set(m, "y", trove_value_bytes(NULL, "\0\1", 2));
    rc |= trove_value_map_set(m, "a", trove_value_array(NULL));
    rc |= trove_value_map_set(m, "m", trove_value_map(NULL));
    CHECK(rc == 0);
    uint8_t *enc = NULL;
    size_t elen = 0;
    rc = trove_value_encode(m, NULL, &enc, &elen, &err);
    trove_value *back = NULL;
    if (rc == TROVE_OK)
        rc = trove_value_decode(enc, elen, NULL, 0, &back, &err);
    int equal = rc == TROVE_OK && trove_value_equal(m, back);
    trove_value_free(m);
    trove_value_free(back);
    trove_free(NULL, enc);
    CHECK(equal);
}

static void test_cbor__refuses_non_shortest(void)
{
    REFUSED("1817", 0, TROVE_E_CORRUPT, "shortest form");
    REFUSED("190017", 0, TROVE_E_CORRUPT, "shortest form");
    REFUSED("1900ff", 0, TROVE_E_CORRUPT, "shortest form");
    REFUSED("1a0000ffff", 0, TROVE_E_CORRUPT, "shortest form");
    REFUSED("1b00000000ffffffff", 0, TROVE_E_CORRUPT, "shortest form");
    REFUSED("3817", 0, TROVE_E_CORRUPT, "shortest form");
    REFUSED("580161", 0, TROVE_E_CORRUPT, "shortest form");   /* bytes, length 1 in a byte */
    REFUSED("78016161", 0, TROVE_E_CORRUPT, "shortest form"); /* text */
    REFUSED("980101", 0, TROVE_E_CORRUPT, "shortest form");   /* array */
    REFUSED("b800", 0, TROVE_E_CORRUPT, "shortest form");     /* map */
    REFUSED("a1 780161 01", 0, TROVE_E_CORRUPT, "shortest form"); /* key length */
    /* The offset names the offending head. */
    trove_value *v = NULL;
    trove_error err = {0};
    CHECK_RC(decode_hex("83 01 1802 03", 0, &v, &err), TROVE_E_CORRUPT);
    CHECK(err.offset == 2 && strstr(err.message, "at 2"));
}

static void test_cbor__refuses_indefinite_and_reserved(void)
{
    REFUSED("5f42010243030405ff", 0, TROVE_E_CORRUPT, "indefinite length");
    REFUSED("7f657374726561646d696e67ff", 0, TROVE_E_CORRUPT, "indefinite length");
    REFUSED("9fff", 0, TROVE_E_CORRUPT, "indefinite length");
    REFUSED("9f018202039f0405ffff", 0, TROVE_E_CORRUPT, "indefinite length");
    REFUSED("bf61610161629f0203ffff", 0, TROVE_E_CORRUPT, "indefinite length");
    REFUSED("1c", 0, TROVE_E_CORRUPT, "reserved");
    REFUSED("1f", 0, TROVE_E_CORRUPT, "reserved");
    REFUSED("ff", 0, TROVE_E_CORRUPT, "indefinite length or reserved"); /* lone break */
}

static void test_cbor__refuses_tags_short_floats_simple(void)
{
    REFUSED("c074323031332d30332d32315432303a30343a30305a", 0, TROVE_E_CORRUPT, "tag");
    REFUSED("c11a514b67b0", 0, TROVE_E_CORRUPT, "tag");
    REFUSED("d82076687474703a2f2f7777772e6578616d706c652e636f6d", 0, TROVE_E_CORRUPT, "tag");
    REFUSED("f90000", 0, TROVE_E_CORRUPT, "floats are 64-bit");     /* half 0.0 */
    REFUSED("f93c00", 0, TROVE_E_CORRUPT, "floats are 64-bit");     /* half 1.0 */
    REFUSED("f97e00", 0, TROVE_E_CORRUPT, "floats are 64-bit");     /* half NaN */
    REFUSED("fa47c35000", 0, TROVE_E_CORRUPT, "floats are 64-bit"); /* single 100000.0 */
    REFUSED("fa7f800000", 0, TROVE_E_CORRUPT, "floats are 64-bit"); /* single Infinity */
    REFUSED("f7", 0, TROVE_E_CORRUPT, "simple value");               /* undefined */
    REFUSED("f0", 0, TROVE_E_CORRUPT, "simple value");               /* simple(16) */
    REFUSED("f8ff", 0, TROVE_E_CORRUPT, "simple value");             /* simple(255) */
    REFUSED("f818", 0, TROVE_E_CORRUPT, "simple value");
    REFUSED("a1 6161 f7", 0, TROVE_E_CORRUPT, "simple value");       /* nested */
}

static void test_cbor__refuses_noncanonical_nan(void)
{
    REFUSED("fb7ff8000000000001", 0, TROVE_E_CORRUPT, "canonical NaN"); /* payload */
    REFUSED("fbfff8000000000000", 0, TROVE_E_CORRUPT, "canonical NaN"); /* negative NaN */
    REFUSED("fb7ff0000000000001", 0, TROVE_E_CORRUPT, "canonical NaN"); /* signalling */
    REFUSED("fb7fffffffffffffff", 0, TROVE_E_CORRUPT, "canonical NaN");
}

static void test_cbor__refuses_bad_keys(void)
{
    REFUSED("a2 6162 01 6161 02", 0, TROVE_E_CORRUPT, "out of canonical order");
    REFUSED("a2 626161 01 6162 02", 0, TROVE_E_CORRUPT, "out of canonical order"); /* longer 1st */
    REFUSED("a2 6161 01 6161 02", 0, TROVE_E_CORRUPT, "duplicate");
    REFUSED("a3 6161 01 6162 02 6161 03", 0, TROVE_E_CORRUPT, "out of canonical order");
    REFUSED("a201020304", 0, TROVE_E_CORRUPT, "not a text string");  /* {1: 2, 3: 4} */
    REFUSED("a1 4161 01", 0, TROVE_E_CORRUPT, "not a text string");  /* bytes key */
    REFUSED("a1 80 01", 0, TROVE_E_CORRUPT, "not a text string");    /* array key */
    REFUSED("a1 f6 01", 0, TROVE_E_CORRUPT, "not a text string");    /* null key */
    REFUSED("a1 6100 01", 0, TROVE_E_CORRUPT, "NUL");
    REFUSED("a1 63610062 01", 0, TROVE_E_CORRUPT, "NUL");
    REFUSED("a1 62c0af 01", 0, TROVE_E_CORRUPT, "key at 1 is not valid UTF-8");
    /* Building a map refuses the same keys. */
    trove_value *m = trove_value_map(NULL);
    CHECK(m);
    int rc1 = trove_value_map_take(m, "a\0b", 3, trove_value_int(NULL, 1));
    int rc2 = trove_value_map_take(m, "\xc0\xaf", 2, trove_value_int(NULL, 1));
    size_t n = trove_value_count(m);
    trove_value_free(m);
    CHECK(rc1 == TROVE_E_INVALID && rc2 == TROVE_E_INVALID && n == 0);
}

static void test_cbor__refuses_invalid_utf8(void)
{
    REFUSED("62c0af", 0, TROVE_E_CORRUPT, "not valid UTF-8");       /* overlong '/' (2 bytes) */
    REFUSED("62c1bf", 0, TROVE_E_CORRUPT, "not valid UTF-8");       /* overlong (2 bytes) */
    REFUSED("63e080af", 0, TROVE_E_CORRUPT, "not valid UTF-8");     /* overlong (3 bytes) */
    REFUSED("64f08080af", 0, TROVE_E_CORRUPT, "not valid UTF-8");   /* overlong (4 bytes) */
    REFUSED("63eda080", 0, TROVE_E_CORRUPT, "not valid UTF-8");     /* U+D800 surrogate */
    REFUSED("63edbfbf", 0, TROVE_E_CORRUPT, "not valid UTF-8");     /* U+DFFF surrogate */
    REFUSED("64f4908080", 0, TROVE_E_CORRUPT, "not valid UTF-8");   /* U+110000 */
    REFUSED("64f7bfbfbf", 0, TROVE_E_CORRUPT, "not valid UTF-8");   /* U+1FFFFF */
    REFUSED("61c3", 0, TROVE_E_CORRUPT, "not valid UTF-8");         /* truncated 2-byte */
    REFUSED("62e282", 0, TROVE_E_CORRUPT, "not valid UTF-8");       /* truncated 3-byte */
    REFUSED("63f09f8c", 0, TROVE_E_CORRUPT, "not valid UTF-8");     /* truncated 4-byte */
    REFUSED("62c341", 0, TROVE_E_CORRUPT, "not valid UTF-8");       /* bad continuation */
    REFUSED("6180", 0, TROVE_E_CORRUPT, "not valid UTF-8");         /* lone continuation */
    REFUSED("61ff", 0, TROVE_E_CORRUPT, "not valid UTF-8");
    REFUSED("82 6161 62c0af", 0, TROVE_E_CORRUPT, "string at 3 is not valid UTF-8");
    /* Limits that are valid: U+10FFFF, U+E000, U+FFFF. */
    trove_value *v = NULL;
    trove_error err = {0};
    CHECK_OK(decode_hex("64f48fbfbf", 0, &v, &err));
    trove_value_free(v);
    CHECK_OK(decode_hex("63ee8080", 0, &v, &err));
    trove_value_free(v);
    CHECK_OK(decode_hex("63efbfbf", 0, &v, &err));
    trove_value_free(v);
    /* The constructor refuses invalid text as well. */
    CHECK(trove_value_string(NULL, "\xed\xa0\x80", 3) == NULL);
}

static void test_cbor__lying_counts_do_not_allocate(void)
{
    static const struct { const char *hex; const char *needle; } lies[] = {
        {"9b1000000000000000 00", "array of 1152921504606846976 items"},  /* 2^60 items */
        {"bb1000000000000000 00", "map of 1152921504606846976 items"},
        {"9bffffffffffffffff 00", "cannot fit"},
        {"bbffffffffffffffff 00", "cannot fit"},
        {"5b1000000000000000 00", "runs past the end"},                 /* bytes */
        {"7b1000000000000000 00", "runs past the end"},                 /* text */
        {"7bffffffffffffffff 00", "runs past the end"},
        {"9a00010000 01", "cannot fit"},
        {"a2 6161 01", "cannot fit"},       /* 2 entries need at least 4 bytes, 3 remain */
        {"83 01 02", "cannot fit"},
    };
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        test_alloc ta;
        test_alloc_init(&ta, 0);
        size_t n = unhex(lies[i].hex, inbuf, sizeof inbuf);
        trove_value *v = NULL;
        trove_error err = {0};
        int rc = trove_value_decode(inbuf, n, &ta.a, 0, &v, &err);
        if (rc != TROVE_E_CORRUPT || !strstr(err.message, lies[i].needle))
            fprintf(stderr, "  %s -> %d '%s'\n", lies[i].hex, rc, err.message);
        CHECK(rc == TROVE_E_CORRUPT && v == NULL && strstr(err.message, lies[i].needle));
        CHECK(ta.count == 0 && ta.live == 0); /* refused before any allocation */
    }
    /* A lie nested inside a valid prefix: what was built is freed (no leak). */
    test_alloc ta;
    test_alloc_init(&ta, 0);
    size_t n = unhex("a2 6161 83010203 6162 9b1000000000000000 00", inbuf, sizeof inbuf);
    trove_value *v = NULL;
    trove_error err = {0};
    CHECK_RC(trove_value_decode(inbuf, n, &ta.a, 0, &v, &err), TROVE_E_CORRUPT);
    CHECK(ta.count > 0 && ta.live == 0 && err.offset == 9);
    /* Truncated items. */
    REFUSED("", 0, TROVE_E_CORRUPT, "ends early");
    REFUSED("19", 0, TROVE_E_CORRUPT, "ends early");
    REFUSED("1b00000000", 0, TROVE_E_CORRUPT, "ends early");
    REFUSED("fb3ff1999999", 0, TROVE_E_CORRUPT, "ends early");
    REFUSED("a1 6161", 0, TROVE_E_CORRUPT, "ends early");
    REFUSED("82 01", 0, TROVE_E_CORRUPT, "cannot fit");
}

/* n nested arrays around an empty one: "81" * (n - 1) + "80". */
static const char *nested(unsigned n, int map)
{
    static char hex[4096];
    hex[0] = '\0';
    for (unsigned i = 1; i < n; i++)
        strcat(hex, map ? "a16161" : "81");
    strcat(hex, map ? "a0" : "80");
    return hex;
}

static void test_cbor__depth_limit(void)
{
    trove_value *v = NULL;
    trove_error err = {0};
    CHECK_OK(decode_hex(nested(64, 0), 0, &v, &err)); /* the default limit: 64 levels */
    trove_value_free(v);
    CHECK_OK(decode_hex(nested(64, 1), 0, &v, &err));
    trove_value_free(v);
    REFUSED(nested(65, 0), 0, TROVE_E_LIMIT, "nesting deeper than 64");
    REFUSED(nested(65, 1), 0, TROVE_E_LIMIT, "nesting deeper than 64");
    REFUSED(nested(600, 0), 0, TROVE_E_LIMIT, "nesting deeper than 64");
    /* A caller may lower the limit, never raise it. */
    CHECK_OK(decode_hex(nested(5, 0), 5, &v, &err));
    trove_value_free(v);
    REFUSED(nested(6, 0), 5, TROVE_E_LIMIT, "nesting deeper than 5");
    REFUSED(nested(6, 1), 5, TROVE_E_LIMIT, "nesting deeper than 5");
    REFUSED(nested(2, 0), 1, TROVE_E_LIMIT, "nesting deeper than 1");
    REFUSED(nested(65, 0), 1000, TROVE_E_LIMIT, "nesting deeper than 64");
    /* Scalars do not count as levels. */
    CHECK_OK(decode_hex("81 81 81 81 81 6161", 5, &v, &err));
    trove_value_free(v);
    /* Refused deep trees leak nothing. */
    test_alloc ta;
    test_alloc_init(&ta, 0);
    size_t n = unhex(nested(65, 1), inbuf, sizeof inbuf);
    CHECK_RC(trove_value_decode(inbuf, n, &ta.a, 0, &v, &err), TROVE_E_LIMIT);
    CHECK(ta.count > 0 && ta.live == 0);
}

static void test_cbor__refuses_trailing_bytes(void)
{
    REFUSED("0000", 0, TROVE_E_CORRUPT, "1 trailing bytes");
    REFUSED("a0 a0", 0, TROVE_E_CORRUPT, "trailing");
    REFUSED("83010203 ff", 0, TROVE_E_CORRUPT, "trailing");
    trove_value *v = NULL;
    trove_error err = {0};
    CHECK_RC(decode_hex("f6 000000", 0, &v, &err), TROVE_E_CORRUPT);
    CHECK(err.offset == 1 && strstr(err.message, "3 trailing bytes"));
}

static void test_cbor__bad_arguments(void)
{
    trove_value *v = NULL;
    trove_error err = {0};
    CHECK_RC(trove_value_decode(NULL, 3, NULL, 0, &v, &err), TROVE_E_INVALID);
    CHECK_RC(trove_value_decode("\0", 1, NULL, 0, NULL, &err), TROVE_E_INVALID);
    uint8_t *enc;
    size_t len;
    CHECK_RC(trove_value_encode(NULL, NULL, &enc, &len, &err), TROVE_E_INVALID);
}

TEST_MAIN(T(test_cbor__rfc_integers), T(test_cbor__rfc_floats_and_simple),
          T(test_cbor__rfc_strings), T(test_cbor__rfc_arrays_and_maps),
          T(test_cbor__refuses_non_shortest), T(test_cbor__refuses_indefinite_and_reserved),
          T(test_cbor__refuses_tags_short_floats_simple), T(test_cbor__refuses_noncanonical_nan),
          T(test_cbor__refuses_bad_keys), T(test_cbor__refuses_invalid_utf8),
          T(test_cbor__lying_counts_do_not_allocate), T(test_cbor__depth_limit),
          T(test_cbor__refuses_trailing_bytes), T(test_cbor__bad_arguments))
