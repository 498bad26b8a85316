/* token: generating, checking and hashing bearer tokens (see token.h). */
#include "cred/token.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool token_generate(char out[TOKEN_LEN + 1])
{
	unsigned char raw[33]; /* 264 bits: 44 characters, of which 43 are kept */
	char *p = out;

	if (RAND_bytes(raw, sizeof raw) != 1)
		return false;
	memcpy(p, "tq_", 3);
	p += 3;
	for (size_t i = 0; i < sizeof raw; i += 3) {
		unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | raw[i + 2];
		for (int s = 18; s >= 0; s -= 6)
			if (p < out + TOKEN_LEN)
				*p++ = b64url[(v >> s) & 63];
	}
	*p = '\0';
	OPENSSL_cleanse(raw, sizeof raw);
	return true;
}

bool token_well_formed(const char *s)
{
	if (!s || strncmp(s, "tq_", 3) != 0 || strlen(s) != TOKEN_LEN)
		return false;
	for (s += 3; *s; s++)
		if (!strchr(b64url, *s))
			return false;
	return true;
}

void token_hash_hex(const char *token, char out[TOKEN_HASH_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL) != 1 || n != 32) {
		memset(out, '0', TOKEN_HASH_HEX); /* matches no stored hash */
		out[TOKEN_HASH_HEX] = '\0';
		return;
	}
	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[TOKEN_HASH_HEX] = '\0';
}

bool token_owner_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > 64)
		return false;
	for (; *s; s++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.@:-",
			    *s))
			return false;
	return true;
}
