#!/usr/bin/env python3
"""walpages.py: which b-trees the writer's commits wrote, from the WAL.

Each commit appends the pages it changed to alertbridge.db-wal, a frame a
page, and marks its last frame. This reads the frames since the WAL last
restarted, maps each page to the table or index it belongs to (SQLite's
dbstat, on a copy), and prints how many pages of each b-tree an average
commit wrote: where a commit's WAL pages, and so its write and fsync, go.

Kill the daemon with SIGKILL under load so that its WAL is left as it was
(a clean stop checkpoints and removes it):

    alertbridge serve --storage.path /tmp/ab ... &
    alertbridge bench --scenario single ... &
    sleep 8; kill -9 %1
    scripts/walpages.py /tmp/ab/alertbridge.db [commits]

It needs the sqlite3 module of Python with the dbstat table (Debian's).
"""
import collections
import os
import shutil
import sqlite3
import struct
import sys
import tempfile


def commits(wal):
    """The page numbers each commit in wal wrote, oldest first."""
    magic, _, page_size, _, salt1, salt2, _, _ = struct.unpack(">IIIIIIII", wal[:32])
    if magic not in (0x377F0682, 0x377F0683):
        sys.exit("walpages: not a SQLite WAL")
    off, pages, out = 32, [], []
    while off + 24 + page_size <= len(wal):
        page, size_after, s1, s2 = struct.unpack(">IIII", wal[off:off + 16])
        if (s1, s2) != (salt1, salt2):
            break  # a frame of before the WAL restarted
        pages.append(page)
        if size_after:  # the commit's last frame
            out.append(set(pages))
            pages = []
        off += 24 + page_size
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    db, last = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    with open(db + "-wal", "rb") as f:
        txs = commits(f.read())[-last:]
    if not txs:
        sys.exit("walpages: no commit in the WAL")
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "copy.db")
        shutil.copy(db, copy)
        shutil.copy(db + "-wal", copy + "-wal")
        conn = sqlite3.connect(copy)
        owner = {page: name for name, page in conn.execute("SELECT name, pageno FROM dbstat")}
        conn.close()
    per = collections.Counter()
    for tx in txs:
        for page in tx:
            per[owner.get(page, "(free or new)")] += 1
    n = len(txs)
    print(f"{n} commits, {sum(len(tx) for tx in txs) / n:.1f} pages a commit")
    for name, count in per.most_common():
        print(f"{count / n:6.2f}  {name}")


if __name__ == "__main__":
    main()
