"""Synthetic places for load benchmarks and fault tests: `python -m bench.synth N OUT.csv [--seed S] [--variant V]`.

The mix imitates a chain's feed rather than noise: places scattered around real cities of a few countries (so
timezone inference and holidays see real answers), a handful of hour patterns repeated across thousands of rows
(as in real feeds, where a chain has few schedules), some written sloppily so that the tolerant parser repairs
them, a repair desk with hours of its own at one place in five, and round-the-clock places at 1% so that about
1% of the places are open at 03:00 on a Saturday. No timezone column: it is inferred from the coordinates, the
costlier and commoner case.

`--variant` changes every place's name and hours deterministically (the same ids): two variants of one feed are
two snapshots of one source, which the fault tests alternate between.
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Iterator
from pathlib import Path

COLUMNS = ("id", "name", "kind", "street", "postcode", "city", "region", "country", "lat", "lon", "opening_hours",
           "hours:repair", "products", "services", "phone", "url")  # fmt: skip

# (city, country, lat, lon, postcode prefix): inland centres, so that a jitter of ~20 km stays on land.
CITIES = (
    ("Paris", "FR", 48.8566, 2.3522, "75"),
    ("Lyon", "FR", 45.7640, 4.8357, "69"),
    ("Toulouse", "FR", 43.6047, 1.4442, "31"),
    ("Lille", "FR", 50.6292, 3.0573, "59"),
    ("Strasbourg", "FR", 48.5734, 7.7521, "67"),
    ("Berlin", "DE", 52.5200, 13.4050, "10"),
    ("München", "DE", 48.1351, 11.5820, "80"),
    ("Köln", "DE", 50.9375, 6.9603, "50"),
    ("London", "GB", 51.5072, -0.1276, "SW"),
    ("Birmingham", "GB", 52.4862, -1.8904, "B"),
    ("Madrid", "ES", 40.4168, -3.7038, "28"),
    ("Chicago", "US", 41.8781, -87.6298, "606"),
    ("Denver", "US", 39.7392, -104.9903, "802"),
    ("Dallas", "US", 32.7767, -96.7970, "752"),
    ("Atlanta", "US", 33.7490, -84.3880, "303"),
    ("Phoenix", "US", 33.4484, -112.0740, "850"),
    ("Moskva", "RU", 55.7558, 37.6173, "101"),
)


def _postcode(country: str, prefix: str, n: int) -> str:
    """A postcode of the country's shape: 4-digit French codes ("7512") drew a warning on most rows once the
    ingest checked shapes, and a million warnings held 370 MB more of the benchmark's memory."""
    if country == "GB":
        return f"{prefix}{n % 9 + 1} {n % 10}AA"
    width = {"RU": 6}.get(country, 5)
    return f"{prefix}{n:0{width - len(prefix)}d}"


# (weight, general hours): ~1% round the clock; the sloppy forms are what feeds really contain.
HOURS = (
    (30, "Mo-Sa 10:00-19:00"),
    (20, "Mo-Fr 09:00-18:00; Sa 10:00-17:00"),
    (15, "Mo-Sa 09:00-20:00; Su 10:00-18:00; PH off"),
    (10, "Mo-Fr 08:00-12:00,14:00-18:00; Sa 09:00-12:00"),
    (8, "Mo-Su 07:00-22:00"),
    (6, "Mo-Fr 10am-7pm; Sa 10am-6pm"),
    (5, "Tu-Sa 10:00-13:00,14:30-19:00"),
    (5, "Mo-Th 09:00-18:00; Fr 09:00-17:00"),
    (1, "24/7"),
)
# The second snapshot of a source: the same places, other hours (still ~1% round the clock).
HOURS_B = (
    (30, "Mo-Sa 09:30-19:30"),
    (20, "Mo-Fr 08:30-17:30; Sa 10:00-16:00"),
    (15, "Mo-Su 10:00-20:00; PH off"),
    (10, "Mo-Fr 08:00-12:30,13:30-18:00"),
    (8, "Mo-Sa 06:00-23:00"),
    (6, "Mo-Fr 9am-6pm"),
    (5, "We-Su 11:00-19:00"),
    (5, "Mo-Fr 09:00-17:00"),
    (1, "24/7"),
)
REPAIR_HOURS = ("Mo-Fr 14:00-18:00", "Tu-Sa 10:00-18:00", "Mo-Sa 09:00-12:00")
PRODUCTS = ("iphone", "mac", "ipad", "watch")
KINDS = ("store", "store", "store", "kiosk", "service_centre")


def places(count: int, *, seed: int = 1, variant: str = "A", start: int = 0) -> Iterator[dict[str, str]]:
    """`count` places with ids `p{start}`…; the same seed gives the same places and coordinates."""
    rng = random.Random(seed)
    table = HOURS_B if variant == "B" else HOURS
    weights = [w for w, _ in table]
    patterns = [h for _, h in table]
    for index in range(start, start + count):
        city, country, lat, lon, prefix = CITIES[rng.randrange(len(CITIES))]
        kind = KINDS[rng.randrange(len(KINDS))]
        repair = kind == "service_centre" or rng.random() < 0.2
        products = sorted(rng.sample(PRODUCTS, rng.randint(1, 3)))
        yield {
            "id": f"p{index}",
            "name": f"{'Store' if variant != 'B' else 'Shop'} {city} {index}",
            "kind": kind,
            "street": f"{rng.randint(1, 200)} Synthetic Street",
            "postcode": _postcode(country, prefix, rng.randint(0, 99)),
            "city": city,
            "region": "",
            "country": country,
            "lat": f"{lat + rng.uniform(-0.2, 0.2):.6f}",
            "lon": f"{lon + rng.uniform(-0.2, 0.2):.6f}",
            "opening_hours": rng.choices(patterns, weights)[0],
            "hours:repair": REPAIR_HOURS[index % len(REPAIR_HOURS)] if repair else "",
            "products": ";".join(products),
            "services": "sales;repair" if repair else "sales",
            "phone": f"+1 555 {index % 10_000_000:07d}",
            "url": f"https://example.com/stores/{index}",
        }


def write_csv(path: Path, count: int, *, seed: int = 1, variant: str = "A", start: int = 0) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(places(count, seed=seed, variant=variant, start=start))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--variant", choices=("A", "B"), default="A")
    args = parser.parse_args()
    write_csv(args.out, args.count, seed=args.seed, variant=args.variant)


if __name__ == "__main__":
    main()
