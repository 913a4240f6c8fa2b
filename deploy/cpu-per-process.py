#!/usr/bin/env python3
"""CPU time per referral, per process of one hub, over a measured window (read from /proc).

  cpu-per-process.py sample OUT TREE     every second, appends "epoch pid ticks name" for each process that belongs
                                         to the hub started from TREE (its services, RabbitMQ, PostgreSQL, the load
                                         generator), and the whole machine's busy ticks as "machine"
  cpu-per-process.py window OUT T0 T1 N  CPU milliseconds per referral by process name between epochs T0 and T1,
                                         for N referrals sent in that window

Used by deploy/bench-cpu.sh; see docs/benchmarks.md.
"""
import os
import re
import sys
import time
from collections import Counter

TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def read(path):
    with open(path, "rb") as f:
        return f.read().decode(errors="replace")


def name_of(pid, tree):
    cmd = read(f"/proc/{pid}/cmdline").replace("\0", " ")
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        cwd = ""
    try:
        env = read(f"/proc/{pid}/environ")
    except OSError:
        env = ""
    # RabbitMQ's beam carries the hub's directory only in its environment, PostgreSQL in its data directory argument.
    if not (tree + "/" in cmd or cwd == tree or cwd.startswith(tree + "/") or tree + "/" in env):
        return None
    if m := re.search(r"FamiljecentralHub\.[A-Za-z.]*\.dll", cmd):
        return m.group(0).removeprefix("FamiljecentralHub.").removesuffix(".dll")
    if "beam.smp" in cmd:
        return "RabbitMQ"
    if "postgres" in cmd:
        return "PostgreSQL"
    return None


def sample(out, tree):
    names = {}
    with open(out, "w") as f:
        while True:
            now = time.time()
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    if pid not in names:
                        names[pid] = name_of(pid, tree)
                    if names[pid] is None:
                        continue
                    fields = read(f"/proc/{pid}/stat").rsplit(") ", 1)[1].split()
                    f.write(f"{now} {pid} {int(fields[11]) + int(fields[12])} {names[pid]}\n")
                except (OSError, IndexError):
                    names.pop(pid, None)
            cpu = read("/proc/stat").split("\n", 1)[0].split()
            busy = sum(int(cpu[i]) for i in (1, 2, 3, 6, 7))  # user nice system irq softirq
            f.write(f"{now} machine {busy} machine\n")
            f.flush()
            time.sleep(1)


def window(out, t0, t1, referrals):
    first, last = {}, {}
    with open(out) as f:
        for line in f:
            at, pid, ticks, name = line.split()
            if t0 <= float(at) <= t1:
                first.setdefault((pid, name), int(ticks))
                last[(pid, name)] = int(ticks)
    per_name = Counter()
    for key, ticks in first.items():
        per_name[key[1]] += last[key] - ticks
    machine = per_name.pop("machine", 0)
    print(f"CPU per referral over {t1 - t0:.0f} s, {referrals} referrals (ms):")
    for name, ticks in per_name.most_common():
        print(f"  {name:<22}{ticks * TICK_MS / referrals:6.2f}")
    print(f"  {'hub, all processes':<22}{sum(per_name.values()) * TICK_MS / referrals:6.2f}")
    print(f"  {'machine, all cores':<22}{machine * TICK_MS / referrals:6.2f}  (includes anything else running)")


if __name__ == "__main__":
    if sys.argv[1] == "sample":
        sample(sys.argv[2], sys.argv[3])
    else:
        window(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]))
