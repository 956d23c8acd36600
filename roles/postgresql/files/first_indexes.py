"""A new database's declared indexes, built in the background by a transient unit.

Started by the postgresql role (tasks/tuning.yml) on a database seeded in the same run, as
postgres: argv = DATABASE PORT STATEMENTS (a JSON list). One session in autocommit (CREATE
INDEX CONCURRENTLY refuses a transaction). Its backend runs at this process's own CPU priority
(the unit's Nice=) and without parallel workers (the postmaster would start those at its own),
so the build takes no CPU the run's foreground work on the host needs. Each statement is
printed (the unit's journal) before it runs; then pg_stat_reset(). An error fails the unit.
"""

from __future__ import annotations

import json
import os
import sys

import psycopg2  # python3-psycopg2, installed with the server


def main(argv: list[str]) -> int:
    database, port, statements = argv[1], argv[2], json.loads(argv[3])
    conn = psycopg2.connect(dbname=database, port=port, application_name="platform-first-indexes")
    try:
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("SELECT pg_backend_pid()")
        backend = cur.fetchone()[0]
        nice = os.getpriority(os.PRIO_PROCESS, 0)
        if nice > 0:
            os.setpriority(os.PRIO_PROCESS, backend, nice)
        cur.execute("SET client_min_messages TO warning")
        cur.execute("SET max_parallel_maintenance_workers TO 0")
        for sql in [*statements, "SELECT pg_stat_reset()"]:
            print(sql, flush=True)
            cur.execute(sql)
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
