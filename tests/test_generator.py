"""Tests of examples/generate.py and of the data set committed in examples/data."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import math
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATOR_PATH = ROOT / "examples" / "generate.py"
DATA = ROOT / "examples" / "data"
DATA_FILES = ("customers.jsonl", "customers.csv", "orders.csv", "events.csv")
COMMITTED_COMMAND = ["--customers", "2000", "--out", "{out}", "--format", "both"]
NOW = dt.datetime(2026, 7, 15, 12, tzinfo=dt.timezone.utc)
CURRENT_SALE = (dt.date(2026, 6, 24), dt.date(2026, 7, 21))
LAST_SUMMER_SALE = (dt.date(2025, 6, 25), dt.date(2025, 7, 22))
EVENT_TYPES = {"visit", "cart_abandoned", "recommendation_click", "email_open", "email_click"}
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")
DATE = re.compile(r"\d{4}-\d\d-\d\d\Z")
CUSTOMER_FIELDS = {
    "id": (int,), "first_name": (str, type(None)), "last_name": (str, type(None)),
    "email": (str,), "country": (str, type(None)), "city": (str, type(None)),
    "birth_date": (str, type(None)), "signed_up_at": (str,), "email_subscribed": (bool,),
    "preferred_channel": (str, type(None)), "loyalty_points": (int, type(None)),
    "tags": (list,), "orders": (list,), "events": (list,),
}


def _load_generator():
    spec = importlib.util.spec_from_file_location("segdsl_example_generator", GENERATOR_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


generator = _load_generator()


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as file:
        return [json.loads(line) for line in file]


@pytest.fixture(scope="module")
def committed() -> list[dict]:
    return _read_jsonl(DATA / "customers.jsonl")


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# --- determinism --------------------------------------------------------------------------------


def test_same_arguments_give_identical_files(tmp_path):
    for run in ("a", "b"):
        generator.write_dataset(generator.generate_customers(150, seed=11), tmp_path / run, "both")
    for name in DATA_FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_other_seed_gives_other_customers():
    first = list(generator.generate_customers(20, seed=1))
    second = list(generator.generate_customers(20, seed=2))
    assert first != second


def test_a_customer_depends_only_on_seed_now_and_id():
    everyone = list(generator.generate_customers(60))
    assert list(generator.generate_customers(10)) == everyone[:10]
    assert list(generator.generate_customers(10, first_id=51)) == everyone[50:]


def test_committed_data_is_what_the_command_makes(tmp_path):
    arguments = [a.format(out=tmp_path) for a in COMMITTED_COMMAND]
    subprocess.run([sys.executable, str(GENERATOR_PATH), *arguments], check=True,
                   capture_output=True)
    for name in DATA_FILES:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), (
            f"examples/data/{name} is stale: run python examples/generate.py "
            f"{' '.join(COMMITTED_COMMAND).format(out='examples/data')}")


# --- shape --------------------------------------------------------------------------------------


def test_every_customer_has_every_field_with_its_type(committed):
    assert [c["id"] for c in committed] == list(range(1, 2001))
    for customer in committed:
        assert customer.keys() == CUSTOMER_FIELDS.keys()
        for name, types in CUSTOMER_FIELDS.items():
            assert type(customer[name]) in types, (customer["id"], name)
        assert all(type(tag) is str for tag in customer["tags"])
        assert customer["birth_date"] is None or DATE.match(customer["birth_date"])


def test_orders_have_items_and_exact_totals(committed):
    for customer in committed:
        for order in customer["orders"]:
            assert order.keys() == {"at", "total", "items"}
            assert order["items"], customer["id"]
            for item in order["items"]:
                assert item.keys() == {"sku", "category", "price", "discounted"}
                assert type(item["price"]) is float and item["price"] > 0
                assert round(item["price"], 2) == item["price"]
                assert type(item["discounted"]) is bool
            assert type(order["total"]) is float
            assert round(sum(item["price"] for item in order["items"]), 2) == order["total"]


def test_timestamps_are_utc_sorted_and_within_the_history(committed):
    history_start = NOW - dt.timedelta(days=730)
    for customer in committed:
        signed_up = _at(customer["signed_up_at"])
        assert TIMESTAMP.match(customer["signed_up_at"])
        assert history_start <= signed_up <= NOW
        for entries in (customer["orders"], customer["events"]):
            stamps = [entry["at"] for entry in entries]
            assert all(TIMESTAMP.match(stamp) for stamp in stamps), customer["id"]
            assert stamps == sorted(stamps), customer["id"]
            assert not stamps or signed_up <= _at(stamps[0]) and _at(stamps[-1]) <= NOW
        assert {event["type"] for event in customer["events"]} <= EVENT_TYPES
        assert all(event.keys() == {"type", "at"} for event in customer["events"])


def test_volumes_are_realistic(committed):
    orders = sum(len(c["orders"]) for c in committed) / len(committed)
    events = sum(len(c["events"]) for c in committed) / len(committed)
    assert 2 <= orders <= 6
    assert 20 <= events <= 80
    assert (DATA / "customers.jsonl").stat().st_size < 8_000_000


@pytest.mark.parametrize("field", ["country", "city", "first_name", "birth_date",
                                   "preferred_channel", "loyalty_points"])
def test_some_but_not_all_values_are_null(committed, field):
    nulls = sum(customer[field] is None for customer in committed)
    assert 0 < nulls < len(committed)


def test_about_three_percent_have_no_country(committed):
    share = sum(customer["country"] is None for customer in committed) / len(committed)
    assert 0.015 <= share <= 0.05


# --- CSV and JSON Lines hold the same customers --------------------------------------------------


def _csv_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def _nullable(text: str, convert: Callable = str):
    return None if text == "" else convert(text)


def _boolean(text: str) -> bool:
    return {"true": True, "false": False}[text]


def _customers_from_csv(directory: Path) -> list[dict]:
    """Rebuild nested records from the CSV files, as their documentation describes them."""
    customers = {}
    for row in _csv_rows(directory / "customers.csv"):
        customer = {column: _nullable(text) for column, text in row.items()}
        customer["id"] = int(row["id"])
        customer["email_subscribed"] = _boolean(row["email_subscribed"])
        customer["loyalty_points"] = _nullable(row["loyalty_points"], int)
        customer["tags"] = row["tags"].split("|") if row["tags"] else []
        customer["orders"], customer["events"] = [], []
        customers[customer["id"]] = customer
    orders = {}
    for row in _csv_rows(directory / "orders.csv"):
        if row["order_id"] not in orders:
            orders[row["order_id"]] = {"at": row["at"], "total": float(row["total"]), "items": []}
            customers[int(row["customer_id"])]["orders"].append(orders[row["order_id"]])
        orders[row["order_id"]]["items"].append(
            {"sku": row["sku"], "category": row["category"], "price": float(row["price"]),
             "discounted": _boolean(row["discounted"])})
    for row in _csv_rows(directory / "events.csv"):
        customers[int(row["customer_id"])]["events"].append({"type": row["type"], "at": row["at"]})
    return list(customers.values())


def test_csv_and_jsonl_hold_the_same_customers(committed):
    assert _customers_from_csv(DATA) == committed


# --- example segments: each has members, none has everyone -----------------------------------


class View:
    """One customer with parsed timestamps and the measures the segments use."""

    def __init__(self, customer: dict):
        self.customer = customer
        self.signed_up_at = _at(customer["signed_up_at"])
        self.orders = [(_at(o["at"]), o) for o in customer["orders"]]
        self.events = [(_at(e["at"]), e["type"]) for e in customer["events"]]
        self.rfm: tuple[int, int, int] | None = None

    def orders_within(self, days: int, category: str | None = None) -> list[dict]:
        return [o for at, o in self.orders if NOW - dt.timedelta(days=days) < at <= NOW
                and (category is None or any(i["category"] == category for i in o["items"]))]

    def orders_during(self, period: tuple[dt.date, dt.date]) -> list[dict]:
        return [o for at, o in self.orders if period[0] <= at.date() <= period[1] and at <= NOW]

    def events_within(self, kind: str, days: int) -> int:
        since = NOW - dt.timedelta(days=days)
        return sum(1 for at, t in self.events if t == kind and since < at <= NOW)

    def events_during(self, kind: str, period: tuple[dt.date, dt.date]) -> int:
        return sum(1 for at, t in self.events
                   if t == kind and period[0] <= at.date() <= period[1] and at <= NOW)

    @property
    def last_order_at(self) -> dt.datetime | None:
        return self.orders[-1][0] if self.orders else None


def _quintile_scores(values: dict[int, float]) -> dict[int, int]:
    """1..5 by quintile break points; tied values always get the same score."""
    ordered = sorted(values.values())
    breaks = [ordered[math.ceil(len(ordered) * k / 5) - 1] for k in range(1, 5)]
    return {key: 1 + sum(value > b for b in breaks) for key, value in values.items()}


def _score_rfm(views: list[View]) -> None:
    """RFM over the whole history, for customers with at least one order."""
    buyers = {v.customer["id"]: v for v in views if v.orders}
    recency = _quintile_scores({k: -(NOW - v.last_order_at).days for k, v in buyers.items()})
    frequency = _quintile_scores({k: len(v.orders) for k, v in buyers.items()})
    monetary = _quintile_scores(
        {k: sum(o["total"] for _, o in v.orders) for k, v in buyers.items()})
    for key, view in buyers.items():
        view.rfm = (recency[key], frequency[key], monetary[key])


def _last_order_between(view: View, low_days: int, high_days: int | None) -> bool:
    last = view.last_order_at
    return last is not None and last <= NOW - dt.timedelta(days=low_days) and (
        high_days is None or last > NOW - dt.timedelta(days=high_days))


TWELVE_MONTHS_DAYS = (NOW - NOW.replace(year=NOW.year - 1)).days

SEGMENTS: dict[str, Callable[[View], bool]] = {
    "loyal_buyers": lambda v: v.rfm is not None and v.rfm[0] >= 4 and v.rfm[1] >= 4,
    "bargain_hunters": lambda v: v.rfm is not None and v.rfm[2] <= 2 and v.rfm[1] >= 4,
    "repeat_shoe_buyers": lambda v: len(v.orders_within(365, category="shoes")) >= 2,
    "last_summer_sale_buyers": lambda v: bool(v.orders_during(LAST_SUMMER_SALE)),
    "discount_buyers": lambda v: any(
        i["discounted"] for o in v.orders_within(TWELVE_MONTHS_DAYS) for i in o["items"]),
    "big_spenders_rarely_buying": lambda v: v.rfm is not None and v.rfm[2] >= 4
    and v.rfm[1] <= 2,
    "clicked_recommendation_no_purchase": lambda v: v.events_within("recommendation_click", 30)
    > 0 and not v.orders_within(30),
    "undecided": lambda v: v.events_within("visit", 30) >= 10 and not v.orders_within(30),
    "abandoned_cart_in_sale_no_purchase": lambda v: v.events_during(
        "cart_abandoned", CURRENT_SALE) > 0 and not v.orders_during(CURRENT_SALE),
    "current_sale_buyers": lambda v: bool(v.orders_during(CURRENT_SALE)),
    "new": lambda v: v.signed_up_at > NOW - dt.timedelta(days=30) and not v.orders,
    "active": lambda v: len(v.orders_within(365)) >= 2 and bool(v.orders_within(90)),
    "at_risk": lambda v: _last_order_between(v, 90, 365),
    "churned": lambda v: _last_order_between(v, 365, None),
    "prospects": lambda v: not v.orders,
    "design_brief_example": lambda v: v.rfm is not None and v.rfm[1] >= 4
    and v.events_within("visit", 30) >= 10 and not v.orders_within(30),
}


@pytest.fixture(scope="module")
def views(committed) -> list[View]:
    views = [View(customer) for customer in committed]
    _score_rfm(views)
    return views


def segment_sizes(views: list[View]) -> dict[str, int]:
    return {name: sum(map(rule, views)) for name, rule in SEGMENTS.items()}


@pytest.mark.parametrize("segment", SEGMENTS)
def test_example_segment_has_members_but_not_everyone(views, segment):
    members = sum(map(SEGMENTS[segment], views))
    assert 0 < members < len(views), f"{segment}: {members} of {len(views)}"
