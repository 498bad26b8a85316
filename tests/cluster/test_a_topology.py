"""The hosts: their addresses, the networks they are (not) on, the synchronous replica, and
every daemon's connection to PostgreSQL coming over the back network."""

import socket
import unittest

from clusterlib import WEB, request, scalar, sql


def reachable(addr, port, timeout=1.0):
    try:
        socket.create_connection((addr, port), timeout=timeout).close()
        return True
    except OSError:
        return False


class TestTopology(unittest.TestCase):
    def test_client_reaches_web_hosts_only(self):
        for web in WEB:
            r = request(web, "GET", "/healthz")
            self.assertEqual(r.status, 200, r.body)
            self.assertGreaterEqual(r.json()["workers"], 3)
        # the client host is on the front network only: PostgreSQL is not reachable from it
        self.assertFalse(reachable("10.88.0.11", 5432), "the client reached pg1")
        self.assertFalse(reachable("10.88.0.12", 5432), "the client reached pg2")

    def test_synchronous_replica(self):
        rows = sql("SELECT application_name, sync_state, client_addr::text "
                   "FROM pg_stat_replication")
        self.assertEqual(rows, [("pg2", "sync", "10.88.0.12/32")])
        self.assertEqual(scalar("SHOW synchronous_commit"), "on")
        self.assertTrue(scalar("SELECT pg_is_in_recovery()", host="pg2"))

    def test_daemons_connect_over_the_back_network(self):
        rows = sql("SELECT application_name, host(client_addr) FROM pg_stat_activity "
                   "WHERE datname = 'taskq' AND application_name LIKE 'taskq-%%'")
        addrs = {a for _, a in rows}
        self.assertTrue(rows, "no daemon connected")
        self.assertFalse(None in addrs, "a daemon came through a local socket: %s" % rows)
        self.assertLessEqual(addrs, {"10.88.0.21", "10.88.0.22", "10.88.0.31", "10.88.0.32",
                                     "10.88.0.33"})
        # both web hosts and the three worker hosts
        self.assertEqual(len(addrs), 5, rows)
        hosts = {h for (h,) in sql("SELECT host FROM taskq.workers")}
        self.assertLessEqual({"wk1", "wk2", "wk3"}, hosts)


if __name__ == "__main__":
    unittest.main()
