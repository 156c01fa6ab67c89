#!/usr/bin/env python
"""Benchmark of the open-data catalogue (issue 21 acceptance 5) on this machine.

Run from the checkout::

    .venv/bin/python bench/opendata.py             # 5,500 datasets, 8 connections, 10 s per scenario
    .venv/bin/python bench/opendata.py --quick     # the same catalogue, 4 connections, 3 s per scenario
    .venv/bin/python bench/opendata.py --database-url postgres://user:pw@127.0.0.1/empty_db

It builds an isolated platform in a temporary directory (its own ``TUNGBAN_VAR_DIR``, an
SQLite database there unless ``--database-url``, a new secret key; nothing under ``var/`` is
touched) and seeds, in this process and in bulk (``bulk_create``, one transaction): the 19
categories (``taxonomy.load_groups``), ``--providers`` providers (110) and ``--datasets``
published datasets (5,500) with bilingual synthetic titles and descriptions (a topic, a
district, a period; Chinese titles such as 「灣仔區空氣質素每月統計」), 1–3 categories and 2
tags each, one CSV resource each whose current version is a small distinct file in the
content-addressed store (``storage.put``), one of them (``big-file``) about 1 MB; then
``search.reindex_all()`` builds the search index (FTS5 on SQLite, the GIN index on PostgreSQL).

The platform then runs as in production (``tungban.testing.servers.start_server``:
``tungban serve``'s server, ``--workers`` processes, DEBUG off) and ``wrk`` (Debian's
package, ``bench/wrk/paths.lua``: round-robin over a list of paths, statuses counted) loads
each scenario for ``--warmup`` untimed and ``--seconds`` timed seconds with
``--connections`` connections:

* ``package_search`` with English queries, with Traditional Chinese queries, with
  Simplified Chinese queries (converted by OpenCC), and with no query but an ``fq`` filter
  and all five facets (each mix a list of 8–20 requests round-robin);
* ``package_show`` of 500 datasets round-robin;
* the conditional GET of a current file URL with its ``If-None-Match`` (answered 304; 500
  resources round-robin);
* the full download of the ~1 MB CSV (``/data/files/<uuid>/big-file.csv``).

Reported per scenario: requests/s, p50/p90/p99 latency (wrk's), statuses, transfer rate.
A scenario passes its check when every answer had the expected status (200, or 304 for the
conditional GET). The machine is shared (2 cores with other helpers' work): the load
average at start and end is printed and saved. Results go to
``bench/results/opendata-<date>-<sqlite|postgresql>.json`` (``-quick`` added; ``--output``
overrides).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlencode

# This checkout's platform first (a shared virtualenv may have another checkout installed).
sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "src"), str(Path(__file__).resolve().parent)]

from machine import (  # noqa: E402  bench/machine.py
    isolate,
    listening_socket,
    machine,
    print_table,
    scratch_dir,
    start_server,
    wait_until_up,
    write_results,
)

RESULTS = Path(__file__).resolve().parent / "results"
WRK_DIR = Path(__file__).resolve().parent / "wrk"

TOPICS = [
    ("air quality", "空氣質素"),
    ("traffic counts", "交通流量"),
    ("water quality", "水質"),
    ("weather observations", "天氣觀測"),
    ("population", "人口"),
    ("school places", "學位"),
    ("hospital admissions", "醫院入院人次"),
    ("public housing", "公共房屋"),
    ("parking vacancy", "停車場空位"),
    ("noise levels", "噪音水平"),
    ("rainfall", "雨量"),
    ("restaurant licences", "食肆牌照"),
    ("building plans", "建築圖則"),
    ("employment", "就業人數"),
    ("tourist arrivals", "訪港旅客"),
    ("library loans", "圖書館借閱"),
    ("waste collection", "廢物收集"),
    ("bus routes", "巴士路線"),
    ("recycling", "回收"),
    ("electricity use", "用電量"),
]
DISTRICTS = [
    ("Central and Western", "中西區"),
    ("Wan Chai", "灣仔區"),
    ("Eastern", "東區"),
    ("Southern", "南區"),
    ("Yau Tsim Mong", "油尖旺區"),
    ("Sham Shui Po", "深水埗區"),
    ("Kowloon City", "九龍城區"),
    ("Wong Tai Sin", "黃大仙區"),
    ("Kwun Tong", "觀塘區"),
    ("Tsuen Wan", "荃灣區"),
    ("Tuen Mun", "屯門區"),
    ("Yuen Long", "元朗區"),
    ("North", "北區"),
    ("Tai Po", "大埔區"),
    ("Sai Kung", "西貢區"),
    ("Sha Tin", "沙田區"),
    ("Kwai Tsing", "葵青區"),
    ("Islands", "離島區"),
]
PERIODS = [("daily", "每日"), ("monthly", "每月"), ("annual", "每年"), ("real-time", "實時")]

QUERIES_EN = ["air quality", "traffic", "water", "population wan chai", "rainfall", "hospital", "bus", "recycling"]
QUERIES_TC = ["空氣質素", "交通", "天氣", "灣仔", "人口", "醫院", "停車場", "沙田區雨量"]
QUERIES_SC = ["空气质素", "交通流量", "天气", "湾仔", "医院", "停车场", "图书馆", "废物"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="4 connections, 3 s per scenario (1 s warm-up)")
    p.add_argument("--datasets", type=int, default=5500, help="published datasets (default 5,500)")
    p.add_argument("--providers", type=int, default=110, help="data providers (default 110)")
    p.add_argument("--big-file-kib", type=int, default=1024, help="size of the downloaded CSV (default 1,024 KiB)")
    p.add_argument("--connections", type=int, help="wrk connections (default 8; quick 4)")
    p.add_argument("--seconds", type=float, help="timed seconds per scenario (default 10; quick 3)")
    p.add_argument("--warmup", type=float, help="untimed seconds before each (default 2; quick 1)")
    p.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--workers", type=int, default=2, help="server processes (default 2)")
    p.add_argument("--server", help="tungban serve's server (default: its own)")
    p.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite in the temporary directory)")
    p.add_argument("--output", type=Path, help="results JSON (default bench/results/opendata-<date>.json)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = p.parse_args(argv)
    args.connections = args.connections or (4 if args.quick else 8)
    args.seconds = args.seconds or (3 if args.quick else 10)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    args.wrk_threads = max(1, min(args.wrk_threads, args.connections))
    return args


# --- seeding -------------------------------------------------------------------------------------


def small_csv(i: int, district: str) -> bytes:
    lines = ["district,date,value"] + [f"{district},2026-{m:02d}-01,{(i * 7 + m * 13) % 1000}" for m in range(1, 13)]
    return ("\n".join(lines) + "\n").encode()


def big_csv(kib: int) -> bytes:
    rng = random.Random(21)
    out, size, n = ["district,date,value"], 0, 0
    while size < kib * 1024:
        d = DISTRICTS[n % len(DISTRICTS)][0]
        line = f"{d},2026-{n % 12 + 1:02d}-{n % 28 + 1:02d},{rng.randint(0, 99999)}"
        out.append(line)
        size += len(line) + 1
        n += 1
    return ("\n".join(out) + "\n").encode()


def seed(args) -> dict:
    """The synthetic catalogue, in bulk; returns what the scenarios need."""
    from django.db import connection, transaction
    from django.utils import timezone

    from tungban.opendata import storage
    from tungban.opendata.constants import DatasetState, Licence, VersionState
    from tungban.opendata.models import Dataset, Group, Organization, Resource, ResourceVersion, Tag
    from tungban.opendata.services import search, taxonomy

    rng = random.Random(5500)
    schema = {
        "fields": [
            {"name": "district", "type": "string"},
            {"name": "date", "type": "date"},
            {"name": "value", "type": "integer"},
        ]
    }
    t0 = time.perf_counter()
    with transaction.atomic():
        taxonomy.load_groups()
        groups = list(Group.objects.order_by("position", "name"))
        orgs = [
            Organization(
                name=f"hk-provider-{i:03d}",
                title_en=f"{DISTRICTS[i % len(DISTRICTS)][0]} {['Office', 'Department', 'Board', 'Authority', 'Council', 'Trust'][i % 6]} {i}",
                title_zh=f"{DISTRICTS[i % len(DISTRICTS)][1]}{['辦事處', '署', '委員會', '管理局', '議會', '基金'][i % 6]}{i}",
            )
            for i in range(args.providers)
        ]
        Organization.objects.bulk_create(orgs)
        tags = {name: Tag(name=name) for pair in TOPICS for name in (pair[0].split()[0], pair[1][:2])}
        Tag.objects.bulk_create(tags.values())
        now = timezone.now()
        licences = Licence.values
        datasets, group_links, tag_links, resources, versions = [], [], [], [], []
        big_index = rng.randrange(args.datasets)
        big = big_csv(args.big_file_kib)
        for i in range(args.datasets):
            topic, district, period = TOPICS[i % len(TOPICS)], DISTRICTS[(i // 3) % len(DISTRICTS)], PERIODS[i % 4]
            ds = Dataset(
                id=uuid.uuid4(),
                name="big-file" if i == big_index else f"ds-{i:05d}-{topic[0].replace(' ', '-')}",
                title_en=f"{period[0].title()} {topic[0]} in {district[0]} ({i})",
                title_zh=f"{district[1]}{topic[1]}{period[1]}統計（{i}）",
                notes_en=f"{topic[0].capitalize()} for the {district[0]} district, published {period[0]}.",
                notes_zh=f"{district[1]}的{topic[1]}數據，{period[1]}更新。",
                organization=orgs[i % len(orgs)],
                license_id=licences[i % len(licences)],
                state=DatasetState.ACTIVE,
                metadata_modified=now - dt.timedelta(minutes=i),
                published_at=now,
            )
            datasets.append(ds)
            for g in {groups[i % len(groups)], groups[(i * 7) % len(groups)], groups[(i * 11) % len(groups)]}:
                if rng.random() < 0.6 or g is groups[i % len(groups)]:
                    group_links.append(Dataset.groups.through(dataset_id=ds.id, group_id=g.id))
            for name in {topic[0].split()[0], topic[1][:2]}:
                tag_links.append(Dataset.tags.through(dataset_id=ds.id, tag_id=tags[name].id))
            data = big if i == big_index else small_csv(i, district[0])
            sha = storage.put(data)
            res = Resource(
                id=uuid.uuid4(),
                dataset=ds,
                name_en="Data",
                name_zh="數據",
                filename=f"{ds.name}.csv" if i != big_index else "big-file.csv",
                table_schema=schema,
                last_modified=now,
            )
            resources.append(res)
            versions.append(
                ResourceVersion(
                    resource=res,
                    sha256=sha,
                    size=len(data),
                    media_type="text/csv; charset=utf-8",
                    state=VersionState.PUBLISHED,
                    captured_at=now,
                    published_at=now,
                    table_schema=schema,
                )
            )
        Dataset.objects.bulk_create(datasets, batch_size=500)
        Dataset.groups.through.objects.bulk_create(group_links, batch_size=1000)
        Dataset.tags.through.objects.bulk_create(tag_links, batch_size=1000)
        Resource.objects.bulk_create(resources, batch_size=500)
        ResourceVersion.objects.bulk_create(versions, batch_size=500)
        for res, version in zip(resources, versions, strict=True):
            res.current = version
        Resource.objects.bulk_update(resources, ["current"], batch_size=500)
    seed_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with transaction.atomic():
        indexed = search.reindex_all()
    index_s = time.perf_counter() - t0
    if connection.vendor == "postgresql":
        # Fresh statistics, as autovacuum would give a loaded database: without them the
        # planner, right after the bulk load, may compute to_tsvector over every row instead
        # of using the GIN index (2 s a query in a first run).
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    big_res = resources[big_index]
    sample = rng.sample(range(args.datasets), min(500, args.datasets))
    return {
        "datasets": len(datasets),
        "providers": len(orgs),
        "groups": len(groups),
        "indexed": indexed,
        "seed_s": round(seed_s, 2),
        "index_s": round(index_s, 2),
        "big": {"path": f"/data/files/{big_res.id}/{big_res.filename}", "bytes": len(big)},
        "show_names": [datasets[i].name for i in sample],
        "file_paths": [f"/data/files/{resources[i].id}/{resources[i].filename}" for i in sample],
        "org_names": [o.name for o in orgs[:20]],
        "group_names": [g.name for g in groups],
    }


# --- load ----------------------------------------------------------------------------------------


def search_path(**params) -> str:
    return "/api/3/action/package_search?" + urlencode(params)


def scenarios(seeded: dict) -> list[dict]:
    facets = json.dumps(["organization", "groups", "res_format", "tags", "license_id"])
    fq = [f"organization:{o}" for o in seeded["org_names"][:10]] + [f"groups:{g}" for g in seeded["group_names"][:10]]
    return [
        {"name": "package_search: English q", "paths": [search_path(q=q, rows=10) for q in QUERIES_EN], "expect": 200},
        {
            "name": "package_search: Traditional Chinese q (/tc-data/)",
            "paths": ["/tc-data" + search_path(q=q, rows=10) for q in QUERIES_TC],
            "expect": 200,
        },
        {
            "name": "package_search: Simplified Chinese q (/sc-data/)",
            "paths": ["/sc-data" + search_path(q=q, rows=10) for q in QUERIES_SC],
            "expect": 200,
        },
        {
            "name": "package_search: fq + 5 facets, no q",
            "paths": [search_path(fq=f, rows=10, **{"facet.field": facets}) for f in fq],
            "expect": 200,
        },
        {
            "name": "package_show",
            "paths": [f"/api/3/action/package_show?id={n}" for n in seeded["show_names"]],
            "expect": 200,
        },
        {"name": "current file, If-None-Match (304)", "paths": seeded["conditional"], "expect": 304},
        {"name": f"download {seeded['big']['bytes'] // 1024} KiB CSV", "paths": [seeded["big"]["path"]], "expect": 200},
    ]


def fetch(base: str, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(base + path, headers=headers or {})
    try:
        with opener.open(req, timeout=30) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def run_wrk(base: str, paths_file: Path, connections: int, seconds: float, threads: int) -> dict:
    """One wrk run of ``bench/wrk/paths.lua``; its ``WRK_RESULT`` JSON plus ``cpu_s`` (wrk's own)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s"]
    cmd += ["--timeout", "10s", "-s", str(WRK_DIR / "paths.lua"), base]
    env = {**os.environ, "WRK_LUA_DIR": str(WRK_DIR), "WRK_THREADS": str(threads), "WRK_PATHS": str(paths_file)}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRK_RESULT ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    out = json.loads(line[len("WRK_RESULT ") :])
    out["cpu_s"] = round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2)
    return out


def measure(base: str, scenario: dict, args, tmp: Path) -> dict:
    paths_file = tmp / f"paths-{abs(hash(scenario['name']))}.txt"
    paths_file.write_text("\n".join(scenario["paths"]) + "\n")
    if args.warmup > 0:
        run_wrk(base, paths_file, args.connections, args.warmup, args.wrk_threads)
    out = run_wrk(base, paths_file, args.connections, args.seconds, args.wrk_threads)
    seconds = out["duration_us"] / 1e6
    statuses = out.get("statuses", {})
    ok = statuses.get(str(scenario["expect"]), 0)
    socket_errors = {k: v for k, v in out["errors"].items() if k != "status" and v}
    return {
        "scenario": scenario["name"],
        "distinct_requests": len(scenario["paths"]),
        "requests": out["requests"],
        "per_second": round(out["requests"] / seconds, 1) if seconds else None,
        "p50_ms": out["p50_us"] / 1000,
        "p90_ms": out["p90_us"] / 1000,
        "p99_ms": out["p99_us"] / 1000,
        "mib_per_second": round(out["bytes"] / seconds / 2**20, 2) if seconds else None,
        "statuses": statuses,
        "socket_errors": socket_errors,
        "wrk_cpu_s": out["cpu_s"],
        "ok": ok > 0 and ok == sum(statuses.values()) and not socket_errors.get("timeout"),
    }


def run(args, tmp: Path) -> dict:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian's package wrk)")
    result: dict = {
        "benchmark": "opendata",
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(),
        "settings": {
            k: getattr(args, k)
            for k in (
                "datasets",
                "providers",
                "big_file_kib",
                "connections",
                "seconds",
                "warmup",
                "wrk_threads",
                "workers",
            )
        },
        "notes": {},
    }
    m = result["machine"]
    print(
        f"Machine: {m['cpu']}, {m['cpus']} CPUs ({m['cpus_usable']} usable), {m['memory_mib']} MiB, load average at "
        f"start {' '.join(str(x) for x in m['loadavg_start'])} (a shared machine: other work may run meanwhile)",
        flush=True,
    )
    database_url = args.database_url or f"sqlite:///{tmp / 'opendata.sqlite3'}"
    result["settings"]["database"] = "postgresql" if database_url.startswith("postgres") else "sqlite"
    sock = listening_socket()
    host, port = sock.getsockname()[:2]
    base = f"http://{host}:{port}"
    env = isolate(tmp, base, database_url, {"TUNGBAN_OPENDATA_FILES": str(tmp / "opendata")})
    import django

    django.setup()
    from django.db import connections

    from tungban.testing.migrated import migrate_database

    t0 = time.perf_counter()
    migrate_database()  # from a copy when TUNGBAN_MIGRATED_CACHE is set (the tiny runs)
    result["notes"]["migrate_s"] = round(time.perf_counter() - t0, 2)
    seeded = seed(args)
    connections.close_all()
    result["catalogue"] = {k: seeded[k] for k in ("datasets", "providers", "groups", "indexed", "seed_s", "index_s")}
    result["catalogue"]["big_file_bytes"] = seeded["big"]["bytes"]
    print(
        f"Seeded {seeded['datasets']} datasets of {seeded['providers']} providers in {seeded['groups']} categories "
        f"in {seeded['seed_s']} s; search index of {seeded['indexed']} in {seeded['index_s']} s "
        f"({result['settings']['database']})",
        flush=True,
    )
    server = None
    try:
        t0 = time.perf_counter()
        server = start_server(sock, env, args.workers, tmp, server=args.server, log=tmp / "server.log")
        wait_until_up(base + "/api/3/action/status_show", server, tmp / "server.log")
        result["notes"]["server_start_s"] = round(time.perf_counter() - t0, 2)
        conditional = []
        for path in seeded["file_paths"]:
            status, headers, _ = fetch(base, path)
            if status != 200 or not headers.get("etag"):
                raise RuntimeError(f"{path}: {status} {headers}")
            conditional.append(f"{path}\t{headers['etag']}")
        seeded["conditional"] = conditional
        checks = {}
        status, _, body = fetch(base, search_path(q="天气", rows=1))
        checks["simplified_query_finds_datasets"] = status == 200 and json.loads(body)["result"]["count"] > 0
        status, _, body = fetch(base, seeded["big"]["path"])
        checks["big_file_bytes"] = status == 200 and len(body) == seeded["big"]["bytes"]
        rows = []
        for scenario in scenarios(seeded):
            print(f"  {scenario['name']} ...", flush=True)
            rows.append(measure(base, scenario, args, tmp))
        result["scenarios"] = rows
        checks["every_answer_as_expected"] = all(r["ok"] for r in rows)
        result["checks"] = checks
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except Exception:  # noqa: BLE001
                server.kill()
    result["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def print_results(result: dict, args) -> None:
    m = result["machine"]
    print()
    print(
        f"tungban open-data benchmark — {result['date']} — {m['cpu']} ({m['cpus']} CPUs, shared), load average "
        f"{' '.join(str(x) for x in m['loadavg_start'])} at start, {' '.join(str(x) for x in result['loadavg_end'])} "
        f"at end — {result['settings']['database']} — {args.workers} server processes, wrk {args.connections} "
        f"connections, {args.seconds:g} s per scenario{' — quick' if args.quick else ''}"
    )
    print_table(
        ("Scenario", "Requests", "Req/s", "p50 ms", "p90 ms", "p99 ms", "MiB/s", "Statuses"),
        [
            (
                r["scenario"],
                str(r["requests"]),
                f"{r['per_second']}",
                f"{r['p50_ms']:.2f}",
                f"{r['p90_ms']:.2f}",
                f"{r['p99_ms']:.2f}",
                f"{r['mib_per_second']}",
                " ".join(f"{k}:{v}" for k, v in sorted(r["statuses"].items())),
            )
            for r in result["scenarios"]
        ],
    )
    print(f"Checks: {result['checks']}")


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupted)
    started = time.perf_counter()
    with scratch_dir("tungban-bench-opendata-", args.keep) as tmp:
        result = run(args, tmp)
    result["wall_seconds"] = round(time.perf_counter() - started, 2)
    print_results(result, args)
    name = f"opendata-{dt.date.today().isoformat()}-{result['settings']['database']}{'-quick' if args.quick else ''}"
    out = args.output or RESULTS / f"{name}.json"
    print(f"Results: {write_results(result, out)} (wall time {result['wall_seconds']} s)")
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
