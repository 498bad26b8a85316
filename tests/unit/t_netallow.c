/* Unit tests: the http kind's SSRF policy. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "kinds/netallow.h"
#include "units.h"

static bool addr_ok(const struct netallow *na, const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	}
	return netallow_addr(na, (struct sockaddr *)&ss);
}

START_TEST(default_refuses_private_ranges)
{
	struct netallow *na;
	struct taskq_err err;
	static const char *const refused[] = {"127.0.0.1",
					      "127.8.9.10",
					      "10.1.2.3",
					      "172.16.0.1",
					      "172.31.255.255",
					      "192.168.1.1",
					      "169.254.169.254",
					      "100.64.0.1",
					      "0.0.0.0",
					      "224.0.0.1",
					      "::1",
					      "::",
					      "fe80::1",
					      "fd00::1",
					      "::ffff:127.0.0.1",
					      "::ffff:10.0.0.1",
					      "::127.0.0.1",
					      "::169.254.169.254",
					      "::8.8.8.8",
					      "64:ff9b::a9fe:a9fe",
					      "64:ff9b:1::a00:1",
					      "2001:0:4136:e378:8000:63bf:3fff:fdd2",
					      "2002:7f00:1::1",
					      "2002:a9fe:a9fe::1",
					      "2002:c0a8:101:1::1",
					      "100::1"};
	static const char *const allowed[] = {
		"93.184.216.34",  "8.8.8.8",         "172.32.0.1",     "2606:4700::1111",
		"::ffff:8.8.8.8", "2002:808:808::1", "2001:4860::8888"};

	ck_assert_int_eq(netallow_parse(NULL, &na, &err), TASKQ_OK);
	for (size_t i = 0; i < N_OF(refused); i++)
		ck_assert_msg(!addr_ok(na, refused[i]), "%s should be refused", refused[i]);
	for (size_t i = 0; i < N_OF(allowed); i++)
		ck_assert_msg(addr_ok(na, allowed[i]), "%s should be allowed", allowed[i]);
	ck_assert(netallow_host(na, "api.example.com"));
	ck_assert(netallow_host(na, "127.0.0.1")); /* the address check refuses it */
	netallow_free(na);
}
END_TEST

/* Asserts judge(na, c.s) == c.valid for each of the n cases (valid: allowed); a failure
 * names the case. */
static void check_judged(bool (*judge)(const struct netallow *, const char *),
			 const struct netallow *na, const struct valid_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(judge(na, c[i].s) == c[i].valid, "case %zu (%s): want %s", i, c[i].s,
			      c[i].valid ? "allowed" : "refused");
}

START_TEST(cidrs_and_hosts)
{
	struct netallow *na;
	struct taskq_err err;
	static const struct valid_case addrs[] = {
		{"127.0.0.1", true},
		{"127.0.0.2", false},
		{"fd12::1", true},
		{"10.0.0.1", false},
		/* a CIDR allows the IPv4 address whichever IPv6 form carries it, mapped or 6to4 */
		{"::ffff:127.0.0.1", true},
		{"2002:7f00:1::1", true},
		{"2002:7f00:2::1", false},
	};
	static const struct valid_case hosts[] = {
		{"api.example.com", true},
		{"API.Example.com", true},
		{"eu.llm.test", true},
		{"llm.test", false},
		{"evil-api.example.com", false},
		{"api.example.com.evil.test", false},
		{"127.0.0.1", true},
		{"8.8.8.8", false}, /* no "*": a literal needs a CIDR */
	};

	ck_assert_int_eq(
		netallow_parse("api.example.com, *.llm.test,127.0.0.1/32,fd00::/8", &na, &err),
		TASKQ_OK);
	check_judged(addr_ok, na, addrs, N_OF(addrs));
	check_judged(netallow_host, na, hosts, N_OF(hosts));
	netallow_free(na);

	ck_assert_int_eq(netallow_parse("10.0.0.0/33", &na, &err), TASKQ_INVAL);
	ck_assert_int_eq(netallow_parse("bad host!", &na, &err), TASKQ_INVAL);
	ck_assert_int_eq(netallow_parse("10.0.0.0/8/1", &na, &err), TASKQ_INVAL);
}
END_TEST

/* The peer address libcurl reports of a connection (new or kept alive), in text. */
START_TEST(addresses_in_text)
{
	struct netallow *na;
	struct taskq_err err;
	static const struct valid_case ips[] = {
		{"127.0.0.1", true},
		{"::ffff:127.0.0.1", true},
		{"93.184.216.34", true},
		{"2606:4700::1111", true},
		{"127.0.0.2", false},
		{"::ffff:127.0.0.2", false},
		{"::1", false},
		{"169.254.169.254", false},
		{"fe80::1", false},
		/* not an address: refused, never guessed at */
		{"", false},
		{"localhost", false},
		{"127.1", false},
		{"[::1]", false},
	};

	ck_assert_int_eq(netallow_parse("*,127.0.0.1/32", &na, &err), TASKQ_OK);
	check_judged(netallow_ip, na, ips, N_OF(ips));
	netallow_free(na);
}
END_TEST

UNITS_SUITE(netallow, 0, default_refuses_private_ranges, cidrs_and_hosts, addresses_in_text)
