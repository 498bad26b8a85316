/* Unit tests: bearer tokens — shape, randomness, the stored hash, owner names — and per-task
 * view tokens: a known answer (computed independently), round trips, forgeries. */
#include <string.h>

#include "cred/token.h"
#include "cred/viewtoken.h"
#include "units.h"

START_TEST(generated_tokens_are_well_formed_and_distinct)
{
	char a[TOKEN_LEN + 1], b[TOKEN_LEN + 1];

	ck_assert(token_generate(a));
	ck_assert(token_generate(b));
	ck_assert_uint_eq(strlen(a), TOKEN_LEN);
	ck_assert(token_well_formed(a));
	ck_assert(token_well_formed(b));
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(malformed_tokens_are_refused_before_any_lookup)
{
	static const struct valid_case cases[] = {
		{NULL, false},
		{"", false},
		{"tq_", false},
		{"tq_short", false},
		{"TQ_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		 false}, /* prefix is case-sensitive */
		{"tq_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false}, /* 42 after the prefix */
		{"tq_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false}, /* 44 */
		{"tq_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		 false}, /* padding is not base64url */
		{"tq_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+", false},
		{"tq_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA ", false},
		{"tq_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'", false},
		{"tq_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-", true},
		{"tq_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz_", true},
	};
	CHECK_VALID(token_well_formed, cases);
}
END_TEST

START_TEST(hash_is_sha256_hex)
{
	char h[TOKEN_HASH_HEX + 1];

	token_hash_hex("abc", h); /* FIPS 180-2's example */
	ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	token_hash_hex("", h);
	ck_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(owner_names)
{
	static const struct valid_case cases[] = {
		{"alice", true},
		{"alice@example.com", true},
		{"team:billing-2.eu_west", true},
		{"", false},
		{NULL, false},
		{"a b", false},
		{"a/b", false},
		{"'; DROP TABLE x; --", false},
		{"ünïcode", false},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	};
	CHECK_VALID(token_owner_valid, cases);
}
END_TEST

static const unsigned char test_key[VIEW_KEY_LEN] = {
	0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};
/* key 0..31, key id 7, may cancel, expires 2030-01-01, task 01234567-89ab-7def-8123-456789abcdef:
 * HMAC-SHA256 and base64url computed with another implementation */
#define KNOWN "tv_AQcBAAAAAHDb2IABI0Vniat974EjRWeJq83v_b3QXst4oep5T_zB5cVeY9ZzlxeMBRlyfs7axFgxguM"

START_TEST(view_token_known_answer)
{
	struct view_claims c = {.task = "01234567-89AB-7def-8123-456789abcdef",
				.expires = 1893456000,
				.cancel = true,
				.key_id = 7},
			   d;
	char out[VIEW_TOKEN_LEN + 1];

	ck_assert(view_token_sign(&c, test_key, out));
	ck_assert_str_eq(out, KNOWN);
	ck_assert_uint_eq(strlen(out), VIEW_TOKEN_LEN);
	ck_assert(view_token_decode(out, &d));
	ck_assert_str_eq(d.task, "01234567-89ab-7def-8123-456789abcdef");
	ck_assert_int_eq(d.expires, 1893456000);
	ck_assert(d.cancel);
	ck_assert(!d.signal);
	ck_assert_int_eq(d.key_id, 7);
	ck_assert(view_token_verify(out, test_key));
	/* flags bit 1: may send the task signals, alone or with cancel */
	c.signal = true;
	ck_assert(view_token_sign(&c, test_key, out) && view_token_decode(out, &d));
	ck_assert(d.cancel && d.signal && view_token_verify(out, test_key));
	c.cancel = false;
	ck_assert(view_token_sign(&c, test_key, out) && view_token_decode(out, &d));
	ck_assert(!d.cancel && d.signal);
}
END_TEST

START_TEST(view_token_forgeries_fail)
{
	unsigned char other[VIEW_KEY_LEN];
	char t[VIEW_TOKEN_LEN + 2];
	struct view_claims c;
	static const char *bad[] = {
		NULL,
		"",
		"tv_",
		"tq_AQcBAAAAAHDb2IABI0Vniat974EjRWeJq83v_b3QXst4oep5T_zB5cVeY9ZzlxeMBRlyfs7axFgxguM",
		KNOWN "A",
		"tv_AQcBAAAAAHDb2IABI0Vniat974EjRWeJq83v_b3QXst4oep5T_zB5cVeY9ZzlxeMBRlyfs7axFgxgu",
		"tv_AQcBAAAAAHDb2IABI0Vniat974EjRWeJq83v_b3QXst4oep5T_zB5cVeY9ZzlxeMBRlyfs7axFgxgu=",
		"tv_AQcBAAAAAHDb2IABI0Vniat974EjRWeJq83v_b3QXst4oep5T_zB5cVeY9ZzlxeMBRlyfs7axFgxgu'",
		/* version 2 */
		"tv_AgcBAAAAAHDb2IABI0Vniat974EjRWeJq83v_b3QXst4oep5T_zB5cVeY9ZzlxeMBRlyfs7axFgxguM",
	};

	for (size_t i = 0; i < N_OF(bad); i++)
		ck_assert_msg(!view_token_verify(bad[i], test_key), "case %zu verified", i);
	/* the same claims under another key */
	memcpy(other, test_key, sizeof other);
	other[31] ^= 1;
	ck_assert(!view_token_verify(KNOWN, other));
	/* every single-character change of the body or the MAC is refused */
	for (size_t i = 3; i < VIEW_TOKEN_LEN; i++) {
		memcpy(t, KNOWN, sizeof KNOWN);
		t[i] = t[i] == 'A' ? 'B' : 'A';
		require(!view_token_verify(t, test_key), "change at %zu verified", i);
	}
	/* a changed flag byte (cancel off → on) with the old MAC */
	ck_assert(view_token_decode(KNOWN, &c));
	c.cancel = false;
	ck_assert(view_token_sign(&c, test_key, t));
	ck_assert_str_ne(t, KNOWN);
	ck_assert(view_token_verify(t, test_key));
	/* claims that cannot be signed */
	c.key_id = 0;
	ck_assert(!view_token_sign(&c, test_key, t));
	c.key_id = 1;
	memcpy(c.task, "not-a-uuid", 11);
	ck_assert(!view_token_sign(&c, test_key, t));
	ck_assert(view_token_like(KNOWN) && !view_token_like("tq_x") && !view_token_like(NULL));
}
END_TEST

UNITS_SUITE(token, 0, generated_tokens_are_well_formed_and_distinct,
	    malformed_tokens_are_refused_before_any_lookup, hash_is_sha256_hex, owner_names,
	    view_token_known_answer, view_token_forgeries_fail)
