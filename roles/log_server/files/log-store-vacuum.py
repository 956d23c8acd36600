"""Upkeep of the central log store (roles/log_server), run by opsproof-log-store.timer.

The store is <dir>/<source>/<YYYY-MM-DD>.log, one file per source and day of arrival,
written by rsyslog. Each run, with the settings of the JSON file given as argument
(dir, retention_days, max_use_mb, keep_free_mb):

1. compresses every finished day (gzip, the file replaced only once its .gz is complete);
2. deletes the days older than retention_days;
3. while the store is above max_use_mb or its volume has less than keep_free_mb free,
   deletes the oldest day (of any source; never today's): the cap always wins, so the
   store can never fill its volume, and a day younger than the retention deleted this way
   is logged at priority err, naming the variable to raise.

Prints one line per action and a summary (the journal keeps them). Standard library only.
"""

import datetime
import gzip
import json
import os
import re
import shutil
import sys
from typing import NamedTuple

DAY_FILE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})\.log(\.gz)?$")
MB = 1024 * 1024


class DayFile(NamedTuple):
    path: str
    day: datetime.date
    size: int
    compressed: bool


def scan(root: str) -> list:
    files = []
    for source in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        sdir = os.path.join(root, source)
        if not os.path.isdir(sdir):
            continue
        for name in sorted(os.listdir(sdir)):
            m = DAY_FILE.match(name)
            if not m:
                continue
            path = os.path.join(sdir, name)
            day = datetime.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            files.append(DayFile(path, day, os.path.getsize(path), bool(m.group(4))))
    return files


def plan(files: list, today: datetime.date, retention_days: int, max_use: int, free: int, keep_free: int) -> list:
    """[(file, reason)] to delete, oldest first: beyond the retention, then beyond the cap
    (the store's size over max_use, or the volume's free space under keep_free). Today's
    files are never deleted. reason is 'retention', or 'cap' (a day still inside the
    retention, deleted because the cap was reached)."""
    out = []
    keep = []
    for f in sorted(files, key=lambda f: (f.day, f.path)):
        if (today - f.day).days > retention_days:
            out.append((f, "retention"))
        else:
            keep.append(f)
    used = sum(f.size for f in keep)
    freed = sum(f.size for f, _ in out)
    for f in keep:
        if f.day >= today or (used <= max_use and free + freed >= keep_free):
            break
        out.append((f, "cap"))
        used -= f.size
        freed += f.size
    return out


def compress(f: DayFile) -> None:
    tmp = f.path + ".gz.tmp"
    with open(f.path, "rb") as src, gzip.open(tmp, "wb", compresslevel=6) as dst:
        shutil.copyfileobj(src, dst)
    st = os.stat(f.path)
    os.chmod(tmp, st.st_mode & 0o777)
    os.utime(tmp, (st.st_atime, st.st_mtime))
    os.replace(tmp, f.path + ".gz")
    os.unlink(f.path)


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as fh:
        conf = json.load(fh)
    root = conf["dir"]
    today = datetime.date.today()
    for f in scan(root):
        if not f.compressed and f.day < today:
            compress(f)
            print(f"compressed {f.path}")
    files = scan(root)
    st = os.statvfs(root) if os.path.isdir(root) else None
    free = st.f_bavail * st.f_frsize if st else 0
    deletions = plan(files, today, int(conf["retention_days"]), int(conf["max_use_mb"]) * MB,
                     free, int(conf["keep_free_mb"]) * MB)
    early = []
    for f, reason in deletions:
        os.unlink(f.path)
        print(f"deleted {f.path} ({reason}, {f.size} bytes)")
        if reason == "cap":
            early.append(f.path)
    used = sum(f.size for f in scan(root))
    print(f"store {root}: {used // MB} MB of max_use {conf['max_use_mb']} MB, "
          f"retention {conf['retention_days']} days, {len(deletions)} deleted")
    if early:
        print(f"<3>log store cap reached: {len(early)} day files younger than retention_days="
              f"{conf['retention_days']} deleted; raise log_server_max_use_mb (or the volume)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
