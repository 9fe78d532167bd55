#!/usr/bin/python3
"""`make bench-fleet`: the fleet (three hosts on one GlusterFS volume, replica
3, behind the front nginx; tests/harness/fleet.py) against one host on the
local disk (nginx + webhookd, as `make run`), in one run with interleaved
rounds: GET of one service, POST to one service, POST over 100 services.
Also one fleet host asked directly, which tells the front's share of the cost
from the volume's. Medians of BENCH_ROUNDS rounds of BENCH_SECONDS each; the
table goes to build/fleet-bench.md. Needs root (the fleet does)."""
import os
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
from bench import BUILD, MIXED, ROUNDS, SECONDS, durable_loop, make_state, read_loop, wrk  # noqa: E402
from e2e.support import write_config  # noqa: E402
from harness.fleet import Fleet  # noqa: E402
from harness.stack import Stack  # noqa: E402

WORKERS = 4
CONNECTIONS = 16
SERVICES = 100


def main():
    if os.geteuid() != 0:
        sys.exit("bench-fleet needs root (glusterd, FUSE mounts, network namespaces)")
    tmp = tempfile.mkdtemp(prefix="webhookd-fleet-bench-")
    os.chmod(tmp, 0o755)
    seed = os.path.join(tmp, "seed")
    sids = make_state(seed, SERVICES)
    local = os.path.join(tmp, "local")
    shutil.copytree(seed, local)
    one, many = os.path.join(tmp, "one.sids"), os.path.join(tmp, "many.sids")
    with open(one, "w") as f:
        f.write(sids[0] + "\n")
    with open(many, "w") as f:
        f.write("\n".join(sids) + "\n")
    config = write_config(tmp, local)
    os.makedirs(os.path.join(tmp, "single"))
    single = Stack(config, workers=WORKERS, build=BUILD, tmp=os.path.join(tmp, "single"))
    fleet = Fleet(config, seed, workers=WORKERS, build=BUILD)
    try:
        single.start()
        fleet.start()
        targets = [("one host, local disk", single.base_url), ("fleet, through the front", fleet.front_url),
                   ("fleet, one host directly", fleet.hosts[0].url)]
        loads = [("GET one service", dict(script=MIXED, sids_file=one, post_every=0)),
                 ("POST one service", dict(script=MIXED, sids_file=one, post_every=1)),
                 ("POST over %d services" % SERVICES, dict(script=MIXED, sids_file=many, post_every=1))]
        # The ceilings of the two file systems themselves, single-threaded:
        # what a state read and a durable write cost there, with no webhookd.
        mount = fleet.hosts[0].mount
        ceilings = [("read loop (open, read, close)", lambda d: read_loop(d, one)),
                    ("durable-write loop (write, fsync, rename, fsync dir)", durable_loop)]
        results = {}
        for r in range(ROUNDS):
            print("round %d of %d" % (r + 1, ROUNDS), flush=True)
            for load, kw in loads:
                for target, base in targets:
                    results.setdefault((load, target), []).append(
                        wrk(base + "/v1/Services/%s/Configuration/Webhooks" % sids[0], CONNECTIONS, timeout=30, **kw))
            for load, run in ceilings:
                results.setdefault((load, "local disk"), []).append(run(local))
                results.setdefault((load, "the volume, through a host's mount"), []).append(run(mount))
        loads += [(load, None) for load, _ in ceilings]
        lines = ["| load (wrk: %d connections; %d s x %d rounds, medians) | target | per second | p50 | p99 | "
                 "vs the first |" % (CONNECTIONS, SECONDS, ROUNDS), "|---|---|---|---|---|---|"]
        for load, _ in loads:
            names = [t for l, t in results if l == load]
            base_rps = statistics.median(x["rps"] for x in results[(load, names[0])])
            for target in names:
                runs = results[(load, target)]
                rps = statistics.median(x["rps"] for x in runs)
                p50 = statistics.median(x["p50"] for x in runs)
                p99 = statistics.median(x["p99"] for x in runs)
                latency = ("%.2f ms | %.2f ms" % (p50 * 1e3, p99 * 1e3)) if p99 else "– | –"
                lines.append("| %s | %s | %.0f | %s | %.2f x |" % (load, target, rps, latency, rps / base_rps))
        report = "\n".join(lines) + "\n"
        with open(os.path.join(BUILD, "fleet-bench.md"), "w") as f:
            f.write(report)
        print("\n" + report + "\nwritten to %s" % os.path.join(BUILD, "fleet-bench.md"))
    finally:
        fleet.stop()
        single.stop(remove=False)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
