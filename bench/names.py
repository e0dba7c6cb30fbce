"""Benchmark the hotline name search on realistic Chinese names.

    .venv/bin/python -m bench.names --elders 100000 --queries 2000 --seed 12349

Generates elders with common surnames (weighted roughly as in the census) and given-name
characters common among people born 1930-1966, builds the index, and prints build time and
p50/p99 latency for each kind of query an operator makes.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import date

from hotline.names import ElderRecord, NameIndex, NameQuery, syllables_of

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤单牛聂"
)
# Given-name characters typical of that generation (秀英, 淑珍, 桂兰, 建国, 国强, ...).
GIVEN = (
    "秀英兰珍桂芳玉华凤淑琴敏丽梅霞英芬荣萍云兰素红春华翠娥金花建国强军明平伟德福志文成林海"
    "永生光荣庆祥宝山发忠宏振兴树东玉清俊杰文彬立新学勤世昌家友德贵瑛莲惠娟洁琳"
)
STREETS = ("幸福里", "和平街", "仓红社区", "官长胡同", "朝阳路", "团结湖", "光华里", "安贞里")


def make_elders(n: int, seed: int, stations: int) -> list[ElderRecord]:
    """n elders with seeded names, addresses, birth years and stations."""
    rng = random.Random(seed)
    weights = [1.0 / (i + 1) ** 0.8 for i in range(len(SURNAMES))]
    out: list[ElderRecord] = []
    for i in range(n):
        surname = rng.choices(SURNAMES, weights)[0]
        given = "".join(rng.choice(GIVEN) for _ in range(1 if rng.random() < 0.25 else 2))
        street = rng.choice(STREETS)
        address = f"{street}{rng.randint(1, 40)}号楼{rng.randint(1, 6)}单元{rng.randint(101, 1802)}"
        out.append(
            ElderRecord(
                id=f"e{i:06d}",
                name=surname + given,
                address=address,
                birth_year=rng.randint(1926, 1966),
                station_id=f"st{rng.randrange(stations):03d}",
                phone=f"13{rng.randrange(10**9):09d}",
            )
        )
    return out


def _typo(s: str, rng: random.Random) -> str:
    i = rng.randrange(len(s))
    return s[:i] + rng.choice("aeioungh") + s[i + 1 :]


def query_kinds(rng: random.Random) -> dict[str, Callable[[ElderRecord], NameQuery]]:
    """One query builder per kind an operator makes."""
    today = date(2026, 11, 23)

    def pinyin(e: ElderRecord) -> str:
        return "".join(syllables_of(e.name)[0])

    def swap_nl(e: ElderRecord) -> str:
        syl = syllables_of(e.name)[0]
        return " ".join(
            ("l" + s[1:]) if s.startswith("n") else s.replace("ing", "in").replace("zh", "z")
            for s in syl
        )

    return {
        "chinese name": lambda e: NameQuery(e.name),
        "full pinyin": lambda e: NameQuery(pinyin(e)),
        "initials": lambda e: NameQuery("".join(s[0] for s in syllables_of(e.name)[0])),
        "accent (n/l, zh/z, ing/in)": lambda e: NameQuery(swap_nl(e)),
        "typo in pinyin": lambda e: NameQuery(_typo(pinyin(e), rng)),
        "name + address": lambda e: NameQuery(e.name, address=e.address[:3]),
        "initials + station + age": lambda e: NameQuery(
            "".join(s[0] for s in syllables_of(e.name)[0]),
            station_id=e.station_id,
            min_age=60,
            max_age=100,
            today=today,
        ),
    }


def main() -> None:
    """Build the index and time each kind of query."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--elders", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--seed", type=int, default=12349)
    args = parser.parse_args()

    elders = make_elders(args.elders, args.seed, args.stations)
    t0 = time.perf_counter()
    c0 = time.thread_time()
    index = NameIndex(elders)
    build = time.perf_counter() - t0
    build_cpu = time.thread_time() - c0
    print(f"elders={len(index)} distinct names={len({e.name for e in elders})}")
    print(f"build: {build:.2f} s wall, {build_cpu:.2f} s cpu")

    rng = random.Random(args.seed + 1)
    # Wall time suffers when the machine is shared; CPU time of this thread does not.
    print(f"{'query kind':32} {'p50 ms':>8} {'p99 ms':>8} {'p99 cpu':>8} {'found':>7}")
    for kind, build_query in query_kinds(rng).items():
        times: list[float] = []
        cpu: list[float] = []
        found = 0
        for _ in range(args.queries):
            target = rng.choice(elders)
            q = build_query(target)
            c = time.thread_time()
            t = time.perf_counter()
            result = index.search(q)
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.thread_time() - c) * 1000)
            found += any(m.elder.id == target.id for m in result)
        times.sort()
        cpu.sort()
        p50 = statistics.median(times)
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        p99_cpu = cpu[min(len(cpu) - 1, int(len(cpu) * 0.99))]
        print(f"{kind:32} {p50:8.2f} {p99:8.2f} {p99_cpu:8.2f} {found / args.queries:7.1%}")


if __name__ == "__main__":
    main()
