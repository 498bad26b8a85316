/* netallow: host and address checks against the allow-list and the refused ranges. */
#include "netallow.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/config.h"
#include "base/xalloc.h"

#define MAX_ENTRIES 64

struct cidr {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int bits;
};

struct netallow {
	bool any_host;
	char *hosts[MAX_ENTRIES];
	int nhosts;
	struct cidr cidrs[MAX_ENTRIES];
	int ncidrs;
};

/*
 * Ranges no request goes to unless a CIDR of the allow-list covers them. IPv6 ranges that
 * carry an IPv4 address: IPv4-mapped ones are checked as that IPv4 address (addr_bytes);
 * IPv4-compatible (::/96, deprecated), NAT64 (64:ff9b::/96, 64:ff9b:1::/48) and Teredo
 * (2001::/32) ones are refused whole; 6to4 (2002::/16) ones are refused when the IPv4 address
 * they carry is (netallow_addr).
 */
static const char *const refused[] = {
	"0.0.0.0/8",     "10.0.0.0/8",    "100.64.0.0/10",  "127.0.0.0/8",    "169.254.0.0/16",
	"172.16.0.0/12", "192.0.0.0/24",  "192.168.0.0/16", "198.18.0.0/15",  "224.0.0.0/3",
	"::/96",         "::ffff:0:0/96", "64:ff9b::/96",   "64:ff9b:1::/48", "100::/64",
	"2001::/32",     "2001:db8::/32", "fc00::/7",       "fe80::/10",      "ff00::/8",
};

static bool parse_cidr(const char *s, struct cidr *c)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	long bits;

	if (n == 0 || n >= sizeof buf)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, c->addr) == 1)
		c->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, c->addr) == 1)
		c->family = AF_INET6;
	else
		return false;
	bits = c->family == AF_INET ? 32 : 128;
	if (slash && config_parse_long(slash + 1, 0, bits, &bits) != TASKQ_OK)
		return false;
	c->bits = (int)bits;
	return true;
}

static bool in_cidr(const struct cidr *c, int family, const unsigned char *addr)
{
	int full = c->bits / 8, rest = c->bits % 8;

	if (c->family != family)
		return false;
	if (memcmp(c->addr, addr, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((c->addr[full] ^ addr[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static bool host_name_valid(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || (c == '*' && i == 0 && h[1] == '.')))
			return false;
	}
	return true;
}

enum taskq_rc netallow_parse(const char *list, struct netallow **out, struct taskq_err *err)
{
	struct netallow *na = xcalloc(1, sizeof *na);
	const char *p = list && *list ? list : "*";

	*out = NULL;
	while (*p) {
		char entry[256];
		size_t n = strcspn(p, ",");
		const char *e = p;
		size_t len = n;

		while (len && (*e == ' ' || *e == '\t')) {
			e++;
			len--;
		}
		while (len && (e[len - 1] == ' ' || e[len - 1] == '\t'))
			len--;
		if (len >= sizeof entry)
			goto bad;
		memcpy(entry, e, len);
		entry[len] = '\0';
		p += n + (p[n] == ',');
		if (len == 0)
			continue;
		if (!strcmp(entry, "*")) {
			na->any_host = true;
		} else if (na->ncidrs < MAX_ENTRIES && parse_cidr(entry, &na->cidrs[na->ncidrs])) {
			na->ncidrs++;
		} else if (na->nhosts < MAX_ENTRIES && !strchr(entry, '/') &&
			   host_name_valid(entry)) {
			na->hosts[na->nhosts++] = xstrdup(entry);
		} else {
			taskq_fail(err, TASKQ_INVAL, "http allow-list: bad entry '%s'", entry);
			netallow_free(na);
			return TASKQ_INVAL;
		}
	}
	*out = na;
	return TASKQ_OK;
bad:
	netallow_free(na);
	return taskq_fail(err, TASKQ_INVAL, "http allow-list: entry too long");
}

void netallow_free(struct netallow *na)
{
	if (!na)
		return;
	for (int i = 0; i < na->nhosts; i++)
		free(na->hosts[i]);
	free(na);
}

/* The address of sa as bytes, IPv4-mapped IPv6 unwrapped; false for other families. */
static bool addr_bytes(const struct sockaddr *sa, int *family, unsigned char *out)
{
	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		*family = AF_INET;
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const unsigned char *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (!memcmp(a, mapped, 12)) {
			memcpy(out, a + 12, 4);
			*family = AF_INET;
		} else {
			memcpy(out, a, 16);
			*family = AF_INET6;
		}
		return true;
	}
	return false;
}

/* Does a CIDR of the allow-list cover the address? */
static bool covered(const struct netallow *na, int family, const unsigned char *a)
{
	for (int i = 0; i < na->ncidrs; i++)
		if (in_cidr(&na->cidrs[i], family, a))
			return true;
	return false;
}

static bool in_refused(int family, const unsigned char *a)
{
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		struct cidr c;
		if (parse_cidr(refused[i], &c) && in_cidr(&c, family, a))
			return true;
	}
	return false;
}

bool netallow_addr(const struct netallow *na, const struct sockaddr *sa)
{
	unsigned char a[16];
	int family;

	if (!addr_bytes(sa, &family, a))
		return false;
	if (covered(na, family, a))
		return true;
	if (in_refused(family, a))
		return false;
	/* 6to4: a relay delivers it to the IPv4 address in bits 16..47 */
	if (family == AF_INET6 && a[0] == 0x20 && a[1] == 0x02)
		return covered(na, AF_INET, a + 2) || !in_refused(AF_INET, a + 2);
	/* a public address: any host name that got here was allowed by netallow_host */
	return true;
}

bool netallow_ip(const struct netallow *na, const char *ip)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1)
		s6->sin6_family = AF_INET6;
	else
		return false;
	return netallow_addr(na, (const struct sockaddr *)&ss);
}

bool netallow_host(const struct netallow *na, const char *host)
{
	unsigned char buf[16];
	size_t hn = strlen(host);

	if (na->any_host)
		return true;
	/* an IP literal is named by the list only through one of its CIDRs */
	if (inet_pton(AF_INET, host, buf) == 1) {
		for (int i = 0; i < na->ncidrs; i++)
			if (in_cidr(&na->cidrs[i], AF_INET, buf))
				return true;
		return false;
	}
	if (inet_pton(AF_INET6, host, buf) == 1) {
		for (int i = 0; i < na->ncidrs; i++)
			if (in_cidr(&na->cidrs[i], AF_INET6, buf))
				return true;
		return false;
	}
	for (int i = 0; i < na->nhosts; i++) {
		const char *h = na->hosts[i];
		if (h[0] == '*') {
			size_t sn = strlen(h + 1); /* ".example.com" */
			if (hn > sn && !strcasecmp(host + hn - sn, h + 1))
				return true;
		} else if (!strcasecmp(host, h)) {
			return true;
		}
	}
	return false;
}
