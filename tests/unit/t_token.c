/* Unit tests: bearer tokens — shape, randomness, the stored hash, owner names. */
#include <string.h>

#include "token.h"
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
	static const char *bad[] = {
		NULL, "", "tq_", "tq_short",
		"TQ_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  /* prefix is case-sensitive */
		"tq_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",   /* 42 after the prefix */
		"tq_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 44 */
		"tq_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  /* padding is not base64url */
		"tq_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
		"tq_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA ",
		"tq_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!token_well_formed(bad[i]), "case %zu accepted", i);
	ck_assert(token_well_formed("tq_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-"));
	ck_assert(token_well_formed("tq_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz_"));
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
	ck_assert(token_owner_valid("alice"));
	ck_assert(token_owner_valid("alice@example.com"));
	ck_assert(token_owner_valid("team:billing-2.eu_west"));
	ck_assert(!token_owner_valid(""));
	ck_assert(!token_owner_valid(NULL));
	ck_assert(!token_owner_valid("a b"));
	ck_assert(!token_owner_valid("a/b"));
	ck_assert(!token_owner_valid("'; DROP TABLE x; --"));
	ck_assert(!token_owner_valid("ünïcode"));
	ck_assert(token_owner_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	ck_assert(!token_owner_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}
END_TEST

Suite *suite_token(void)
{
	Suite *s = suite_create("token");
	TCase *tc = tcase_create("token");

	tcase_add_test(tc, generated_tokens_are_well_formed_and_distinct);
	tcase_add_test(tc, malformed_tokens_are_refused_before_any_lookup);
	tcase_add_test(tc, hash_is_sha256_hex);
	tcase_add_test(tc, owner_names);
	suite_add_tcase(s, tc);
	return s;
}
