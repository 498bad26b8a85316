/*
 * netallow: the SSRF policy of the http kind (and of completion webhooks). Pure code: parses
 * the allow-list and answers two questions, "may this URL's host be asked for" and "may a
 * connection go to this address". Addresses in loopback, private, link-local, carrier-grade
 * NAT, metadata, multicast and reserved ranges, and IPv6 addresses that carry such an IPv4
 * address (IPv4-mapped, 6to4) or any IPv4 address through a translator (IPv4-compatible,
 * NAT64, Teredo), are refused unless an allow-list CIDR covers them, whatever host name led
 * there (so DNS tricks and redirects gain nothing).
 */
#ifndef TASKQ_NETALLOW_H
#define TASKQ_NETALLOW_H

#include <stdbool.h>
#include <sys/socket.h>

#include "base/err.h"

struct netallow;

/*
 * Parses a comma-separated list of entries: "*" (any host name), "host.example.com",
 * "*.example.com" (any sub-domain), an IP address, or a CIDR ("10.0.0.0/8", "fd00::/8").
 * NULL or "" means "*". Returns TASKQ_INVAL with a message naming the bad entry.
 */
enum taskq_rc netallow_parse(const char *list, struct netallow **out, struct taskq_err *err);
void netallow_free(struct netallow *na);

/* May a URL name this host? With "*" any name may; otherwise a name must match a name
 * entry and an IP literal must lie in a CIDR entry. Every connection still passes
 * netallow_addr. */
bool netallow_host(const struct netallow *na, const char *host);
/* May a connection go to this address? */
bool netallow_addr(const struct netallow *na, const struct sockaddr *sa);
/* The same for an address in text ("192.0.2.1", "2001:db8::1", "::ffff:10.0.0.1"), as
 * libcurl reports a connection's peer; false for anything that is not one. */
bool netallow_ip(const struct netallow *na, const char *ip);

#endif
