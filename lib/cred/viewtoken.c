/* viewtoken: signing, decoding and verifying per-task view tokens (see viewtoken.h). */
#include "cred/viewtoken.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "base/hex.h"

#define MSG_LEN 27
#define MAC_LEN 32
#define RAW_LEN (MSG_LEN + MAC_LEN) /* 59 bytes: 79 base64url characters */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i;

	for (i = 0; i + 3 <= n; i += 3, out += 4) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		for (int k = 0; k < 4; k++)
			out[k] = b64url[(v >> (18 - 6 * k)) & 63];
	}
	if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		for (int k = 0; k < 3; k++)
			*out++ = b64url[(v >> (18 - 6 * k)) & 63];
	} else if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;
		for (int k = 0; k < 2; k++)
			*out++ = b64url[(v >> (18 - 6 * k)) & 63];
	}
	*out = '\0';
}

/* Decodes exactly RAW_LEN bytes from the 79 characters after "tv_"; false on anything else
 * (a wrong length, a foreign character, non-zero padding bits). */
static bool b64_decode(const char *s, unsigned char out[RAW_LEN])
{
	unsigned v = 0;
	int bits = 0;
	size_t n = 0;

	if (strlen(s) != VIEW_TOKEN_LEN - 3)
		return false;
	for (; *s; s++) {
		const char *p = strchr(b64url, *s);
		if (!p)
			return false;
		v = v << 6 | (unsigned)(p - b64url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(v >> bits);
			v &= (1u << bits) - 1;
		}
	}
	return n == RAW_LEN && v == 0;
}

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" → 16 bytes. */
static bool uuid_parse(const char *s, unsigned char out[16])
{
	int n = 0;

	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
			continue;
		}
		int b = hex_byte(s + i++);
		if (b < 0)
			return false;
		out[n++] = (unsigned char)b;
	}
	return n == 16;
}

static void uuid_format(const unsigned char in[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	char *p = out;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[in[i] >> 4];
		*p++ = hex[in[i] & 15];
	}
	*p = '\0';
}

static bool mac(const unsigned char key[VIEW_KEY_LEN], const unsigned char msg[MSG_LEN],
		unsigned char out[MAC_LEN])
{
	unsigned int n = 0;

	return HMAC(EVP_sha256(), key, VIEW_KEY_LEN, msg, MSG_LEN, out, &n) && n == MAC_LEN;
}

bool view_token_like(const char *s)
{
	return s && !strncmp(s, "tv_", 3);
}

bool view_token_sign(const struct view_claims *c, const unsigned char key[VIEW_KEY_LEN],
		     char out[VIEW_TOKEN_LEN + 1])
{
	unsigned char raw[RAW_LEN];
	unsigned long long e = (unsigned long long)c->expires;

	if (c->key_id < 1 || c->key_id > 255 || !uuid_parse(c->task, raw + 11))
		return false;
	raw[0] = 1;
	raw[1] = (unsigned char)c->key_id;
	raw[2] = (unsigned char)((c->cancel ? 1 : 0) | (c->signal ? 2 : 0));
	for (int i = 0; i < 8; i++)
		raw[3 + i] = (unsigned char)(e >> (56 - 8 * i));
	if (!mac(key, raw, raw + MSG_LEN))
		return false;
	memcpy(out, "tv_", 3);
	b64_encode(raw, RAW_LEN, out + 3);
	return true;
}

static bool decode_raw(const char *tok, unsigned char raw[RAW_LEN])
{
	return view_token_like(tok) && b64_decode(tok + 3, raw) && raw[0] == 1 && raw[1] != 0 &&
	       raw[2] <= 3;
}

bool view_token_decode(const char *tok, struct view_claims *c)
{
	unsigned char raw[RAW_LEN];
	unsigned long long e = 0;

	if (!decode_raw(tok, raw))
		return false;
	c->key_id = raw[1];
	c->cancel = raw[2] & 1;
	c->signal = (raw[2] & 2) != 0;
	for (int i = 0; i < 8; i++)
		e = e << 8 | raw[3 + i];
	c->expires = (long long)e;
	uuid_format(raw + 11, c->task);
	return true;
}

bool view_token_verify(const char *tok, const unsigned char key[VIEW_KEY_LEN])
{
	unsigned char raw[RAW_LEN], want[MAC_LEN];

	if (!decode_raw(tok, raw) || !mac(key, raw, want))
		return false;
	return CRYPTO_memcmp(want, raw + MSG_LEN, MAC_LEN) == 0;
}
