"""Generate a deterministic, realistic customer base of an online fashion shop.

The data feeds segdsl's examples, tests and benchmarks: customers with nested orders and
timestamped events, in the record shape of the design brief, written as JSON Lines and/or CSV.

Usage:
    python examples/generate.py --customers 2000 --out examples/data --format both
    python examples/generate.py --customers 1000000 --seed 7 --out /tmp/big

Or from Python:
    for customer in generate_customers(1000, seed=2026, now="2026-07-15T12:00:00Z"): ...

Determinism:
    The default seed is 2026 and the default `now` is 2026-07-15T12:00:00Z (never the wall
    clock). Each customer is drawn from its own random.Random seeded with (seed << 40) | id, so
    a customer depends only on the seed, `now` and its id: the first 2,000 customers of a
    million-customer run equal a 2,000-customer run, and ranges can be generated in parallel
    with `first_id`. Only random.Random.random() and integer or basic float arithmetic are used
    (no log, exp or other libm calls, whose last bit may differ between platforms); money is
    computed in integer cents. Same seed and arguments, byte-identical files, on any machine.

Model (how a customer is drawn):
    1. A persona, by share: loyal 10%, bargain_hunter 7%, big_spender 5%, sale_shopper 10%,
       occasional 22%, at_risk 10%, churned 10%, undecided 6%, new 5%, prospect 15%.
       The persona fixes when the customer signed up, when they order (see the _plan_*
       functions), what they buy (cheap, any or premium items; basket size; taste for
       discounts), how often they visit, and how they react to e-mails and the site.
    2. An identity: country (12 countries, France first; 3% have no country), a city of that
       country (2% more have none), a first and last name in the country's language (2% have
       none), an e-mail containing the id (so unique), a birth date (35% unknown), a
       preferred channel (30% unknown), loyalty points (null for non-members) and tags
       ("vip" from 1,000 euros spent; "reviewer", "wholesale", "employee", "press" at random).
    3. Orders at the planned times. Each item comes from a fixed catalogue of 320 SKUs in 8
       categories, half of the time from the customer's favourite category. During the
       French sales (winter: second Wednesday of January, summer: last Wednesday of June,
       four weeks each, whole UTC days) most items are discounted; outside them only as often
       as the persona likes discounts. Totals are the exact sum of the item prices.
    4. Events: visits spread over the customer's active life at the persona's rate (and a
       trickle after it for lapsed customers), a visit just before every order and a few in
       the days before, bursts of visits for undecided, new and sale customers; some visits
       lead to a recommendation_click or a cart_abandoned a few minutes later. Subscribed
       customers (and unsubscribed ones until they left) receive a welcome e-mail and the
       shop's campaigns (every Tuesday, each sale's opening and last week) and open (and
       sometimes click) them at the persona's rate, less after they lapsed.
    History spans 730 days back from `now`; nothing is after `now`. Orders and events are
    sorted by time. Every record has every field; a missing value is null.

Files (see examples/data/README.md):
    customers.jsonl   one nested customer per line (UTF-8).
    customers.csv     one row per customer; tags joined with "|"; an empty cell is null
                      (tags are never null: there an empty cell is an empty list).
    orders.csv        one row per order line item: customer_id, order_id ("<customer>-<n>",
                      n counting the customer's orders from 1), at, total, sku, category,
                      price, discounted.
    events.csv        customer_id, type, at.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import datetime as dt
import json
import random
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DEFAULT_SEED = 2026
DEFAULT_NOW = "2026-07-15T12:00:00Z"
HISTORY_DAYS = 730
MINUTE = 60
HOUR = 3_600
DAY = 86_400
MONTH = 30 * DAY

FORMATS = ("jsonl", "csv", "both")
CUSTOMER_COLUMNS = (
    "id", "first_name", "last_name", "email", "country", "city", "birth_date",
    "signed_up_at", "email_subscribed", "preferred_channel", "loyalty_points", "tags",
)
ORDER_COLUMNS = (
    "customer_id", "order_id", "at", "total", "sku", "category", "price", "discounted",
)
EVENT_COLUMNS = ("customer_id", "type", "at")

# ---------------------------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------------------------

# name, popularity weight, SKU code prefix, cheapest and dearest price in euros
CATEGORIES = (
    ("clothing", 26, "CLO", 15, 149),
    ("shoes", 18, "SHO", 39, 189),
    ("accessories", 15, "ACC", 5, 79),
    ("beauty", 12, "BEA", 6, 89),
    ("bags", 8, "BAG", 25, 349),
    ("home", 8, "HOM", 9, 199),
    ("sports", 8, "SPO", 12, 229),
    ("kids", 5, "KID", 8, 79),
)
SKUS_PER_CATEGORY = 40
BUDGET_MAX_CENTS = 2_000
PREMIUM_MIN_CENTS = 12_000
PRICE_ENDINGS = (90, 99, 0, 50, 95)

# code, weight, name languages, cities (most populous first)
COUNTRIES = (
    ("FR", 42, ("fr",), ("Paris", "Lyon", "Marseille", "Toulouse", "Lille", "Bordeaux",
                         "Nantes", "Strasbourg", "Nice", "Rennes", "Montpellier")),
    ("BE", 10, ("fr", "nl"), ("Bruxelles", "Antwerpen", "Gent", "Liège", "Charleroi",
                              "Namur", "Brugge")),
    ("DE", 9, ("de",), ("Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main",
                        "Stuttgart", "Düsseldorf", "Leipzig")),
    ("ES", 7, ("es",), ("Madrid", "Barcelona", "Valencia", "Sevilla", "Zaragoza", "Málaga",
                        "Bilbao")),
    ("IT", 7, ("it",), ("Roma", "Milano", "Napoli", "Torino", "Bologna", "Firenze",
                        "Palermo")),
    ("CH", 5, ("fr", "de"), ("Zürich", "Genève", "Basel", "Lausanne", "Bern", "Fribourg")),
    ("NL", 5, ("nl",), ("Amsterdam", "Rotterdam", "Den Haag", "Utrecht", "Eindhoven",
                        "Groningen")),
    ("GB", 5, ("en",), ("London", "Manchester", "Birmingham", "Leeds", "Bristol",
                        "Edinburgh")),
    ("LU", 3, ("fr",), ("Luxembourg", "Esch-sur-Alzette", "Differdange")),
    ("US", 3, ("en",), ("New York", "Los Angeles", "Chicago", "San Francisco", "Miami")),
    ("CA", 2, ("fr", "en"), ("Montréal", "Toronto", "Vancouver", "Québec", "Ottawa")),
    ("AT", 2, ("de",), ("Wien", "Graz", "Linz", "Salzburg")),
)

FIRST_NAMES = {
    "fr": ("Camille", "Léa", "Manon", "Chloé", "Inès", "Jade", "Louise", "Emma", "Zoé",
           "Élodie", "Sophie", "Nathalie", "Julie", "Céline", "Hélène", "Hugo", "Lucas",
           "Louis", "Gabriel", "Jules", "Arthur", "Théo", "Nicolas", "Julien", "Thomas",
           "Antoine", "Maxime", "Mathieu", "Sébastien", "François"),
    "de": ("Anna", "Lena", "Hannah", "Sophie", "Marie", "Laura", "Julia", "Katrin", "Sabine",
           "Jonas", "Leon", "Lukas", "Felix", "Maximilian", "Paul", "Tobias", "Stefan",
           "Jürgen"),
    "es": ("Lucía", "María", "Paula", "Sofía", "Carmen", "Laura", "Marta", "Alejandro",
           "Javier", "Pablo", "Daniel", "Sergio", "Carlos", "José", "Álvaro"),
    "it": ("Giulia", "Chiara", "Francesca", "Sara", "Martina", "Alessia", "Elena", "Marco",
           "Luca", "Matteo", "Andrea", "Lorenzo", "Davide", "Giuseppe", "Niccolò"),
    "nl": ("Emma", "Julia", "Sanne", "Lotte", "Femke", "Anouk", "Daan", "Sem", "Lucas",
           "Bram", "Thijs", "Jeroen", "Pieter", "Ruben", "Maarten"),
    "en": ("Olivia", "Emily", "Amelia", "Charlotte", "Grace", "Sarah", "Jessica", "Oliver",
           "Jack", "Harry", "George", "James", "William", "Daniel", "Michael"),
}
LAST_NAMES = {
    "fr": ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
           "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David",
           "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "Bonnet", "Dupont",
           "Lambert", "Fontaine", "Rousseau", "Faure", "Mercier", "Blanc"),
    "de": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
           "Schulz", "Hoffmann", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder"),
    "es": ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez",
           "Pérez", "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno"),
    "it": ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
           "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Costa"),
    "nl": ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen",
           "Visser", "Smit", "Meijer", "Peeters", "Maes", "Claes", "Willems", "Mertens"),
    "en": ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
           "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "O'Brien"),
}
# Reserved .example domains: the addresses look real but can never reach anyone.
EMAIL_DOMAINS = ("mail.example", "webmail.example", "inbox.example", "post.example")
TAGS = (("reviewer", 0.08), ("wholesale", 0.01), ("employee", 0.005), ("press", 0.003))
VIP_MIN_SPENT_CENTS = 100_000
CHANNELS = (("email", 45), ("sms", 15), ("push", 10), (None, 30))
# Share of visits starting in each UTC hour: a European audience, busiest in the evening.
HOUR_WEIGHTS = (2, 1, 1, 1, 1, 2, 3, 5, 6, 6, 7, 7, 8, 7, 7, 7, 8, 9, 11, 12, 12, 10, 7, 4)


# ---------------------------------------------------------------------------------------------
# Random draws
# ---------------------------------------------------------------------------------------------


class _Dice(random.Random):
    """random.Random with the few draws the model needs, all built on random()."""

    def uniform_float(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def integer(self, low: int, high: int) -> int:
        """Uniform integer in [low, high]."""
        return low + int(self.random() * (high - low + 1))

    def chance(self, probability: float) -> bool:
        return self.random() < probability

    def towards_zero(self, power: int) -> float:
        """A number in [0, 1), more often small the higher the power."""
        draw = self.random()
        result = draw
        for _ in range(power - 1):
            result *= draw  # not draw ** power: pow() may round differently between platforms
        return result

    def count(self, mean: float) -> int:
        """A whole count with the given mean: the fraction becomes a coin toss."""
        return int(mean + self.random())

    def moment(self, start: int, end: int) -> int:
        """Uniform second in [start, end]."""
        return start + int(self.random() * (end - start + 1))

    def weighted(self, table: _WeightedTable):
        return table.values[bisect.bisect_right(table.cumulative, self.random() * table.total)]


class _WeightedTable:
    """Values with weights, ready for _Dice.weighted."""

    def __init__(self, pairs: Iterable[tuple[object, float]]):
        self.values = []
        self.cumulative = []
        self.total = 0.0
        for value, weight in pairs:
            self.total += weight
            self.values.append(value)
            self.cumulative.append(self.total)


CHANNEL_TABLE = _WeightedTable(CHANNELS)
COUNTRY_TABLE = _WeightedTable((country, country[1]) for country in COUNTRIES)
CATEGORY_TABLE = _WeightedTable((c[0], c[1]) for c in CATEGORIES)
CITY_TABLES = {
    code: _WeightedTable((city, len(cities) - rank) for rank, city in enumerate(cities))
    for code, _, _, cities in COUNTRIES
}


# ---------------------------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------------------------


def parse_timestamp(text: str | dt.datetime) -> dt.datetime:
    """Parse an ISO 8601 date or datetime; naive values are UTC.

    Args:
        text: e.g. "2026-07-15T12:00:00Z", "2026-07-15", or a datetime.

    Returns:
        An aware datetime in UTC.
    """
    moment = text if isinstance(text, dt.datetime) else dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


@lru_cache(maxsize=1)
def _times_of_day() -> tuple[str, ...]:
    return tuple(
        f"{h:02d}:{m:02d}:{s:02d}Z" for h in range(24) for m in range(60) for s in range(60)
    )


def _epoch_seconds(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def _french_sale_start(year: int, summer: bool) -> dt.date:
    """First day of the French summer or winter sales (rules in force since 2020)."""
    wednesdays = [
        dt.date(year, 6 if summer else 1, day)
        for day in range(1, 31)
        if dt.date(year, 6 if summer else 1, day).weekday() == 2
    ]
    if summer:
        return wednesdays[-1] if wednesdays[-1].day <= 28 else wednesdays[-2]
    return wednesdays[1] if wednesdays[1].day <= 12 else wednesdays[0]


def sale_periods(now: str | dt.datetime = DEFAULT_NOW) -> list[tuple[dt.date, dt.date]]:
    """The French sales that started within the history before `now`.

    Args:
        now: the generation's `now`.

    Returns:
        (first day, last day) pairs, both days included, oldest first.
    """
    now_date = parse_timestamp(now).date()
    history_start = now_date - dt.timedelta(days=HISTORY_DAYS + 28)
    periods = []
    for year in range(history_start.year, now_date.year + 1):
        for summer in (False, True):
            first = _french_sale_start(year, summer)
            if history_start <= first <= now_date:
                periods.append((first, first + dt.timedelta(days=27)))
    return periods


# ---------------------------------------------------------------------------------------------
# The shop: catalogue, calendar and campaigns, shared by all customers of one run
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sku:
    code: str
    category: str
    cents: int


class _Catalog:
    """The shop's SKUs, indexed by price tier and category."""

    def __init__(self, dice: _Dice):
        skus = [sku for category in CATEGORIES for sku in self._category_skus(dice, *category)]
        self.by_tier = {
            "budget": self._index(s for s in skus if s.cents <= BUDGET_MAX_CENTS),
            "any": self._index(skus),
            "premium": self._index(s for s in skus if s.cents >= PREMIUM_MIN_CENTS),
        }

    @staticmethod
    def _category_skus(dice: _Dice, name, _weight, prefix, low, high) -> list[_Sku]:
        skus = []
        for number in range(1, SKUS_PER_CATEGORY + 1):
            # Squaring skews prices towards the cheap end, as in a real assortment.
            euros = low + int((high - low) * dice.towards_zero(2))
            ending = PRICE_ENDINGS[dice.integer(0, len(PRICE_ENDINGS) - 1)]
            skus.append(_Sku(f"{prefix}-{number:04d}", name, euros * 100 + ending))
        return skus

    @staticmethod
    def _index(skus: Iterable[_Sku]) -> dict[str | None, list[_Sku]]:
        index: dict[str | None, list[_Sku]] = {None: []}
        for sku in skus:
            index.setdefault(sku.category, []).append(sku)
            index[None].append(sku)
        return index

    def pick(self, dice: _Dice, tier: str, category: str) -> _Sku:
        """A SKU of the tier, in the category when the tier has any there."""
        index = self.by_tier[tier]
        choices = index.get(category) or index[None]
        return choices[int(dice.random() * len(choices))]


class _Shop:
    """Everything common to one generation run: clock, catalogue, sales and campaigns."""

    def __init__(self, seed: int, now: str | dt.datetime):
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
        self.seed = seed
        self.now = _epoch_seconds(parse_timestamp(now))
        self.start = self.now - HISTORY_DAYS * DAY
        self.catalog = _Catalog(_Dice(f"segdsl-catalog-{seed}"))
        self.sales = [
            (_epoch_seconds(_midnight(first)), _epoch_seconds(_midnight(last)) + DAY - 1)
            for first, last in sale_periods(now)
        ]
        self.current_sale = next((s for s in self.sales if s[0] <= self.now <= s[1]), None)
        self.campaigns = self._campaign_sends()
        self._first_day = self.start // DAY - 1
        self._day_prefixes = [
            (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat() + "T"
            for day in range(self._first_day, self.now // DAY + 1)
        ]
        self._times = _times_of_day()

    def _campaign_sends(self) -> list[int]:
        first_tuesday = self.start // DAY + (1 - (self.start // DAY + 3)) % 7  # 1970-01-01: Thu
        weekly = range(first_tuesday * DAY + 8 * HOUR, self.now, 7 * DAY)
        sale_mails = [s + 6 * HOUR + week * 7 * DAY for s, _ in self.sales for week in (0, 3)]
        return sorted({*weekly, *(t for t in sale_mails if self.start <= t <= self.now)})

    def iso(self, seconds: int) -> str:
        """ISO 8601 UTC text of a moment given in seconds since the epoch."""
        day, second = divmod(seconds, DAY)
        return self._day_prefixes[day - self._first_day] + self._times[second]

    def event_records(self, events: list[tuple[int, str]]) -> list[dict]:
        """Event dicts from (epoch seconds, type) pairs."""
        prefixes, times, first_day = self._day_prefixes, self._times, self._first_day
        return [{"type": kind, "at": prefixes[at // DAY - first_day] + times[at % DAY]}
                for at, kind in events]

    def in_sale(self, seconds: int) -> bool:
        return any(first <= seconds <= last for first, last in self.sales)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)


# ---------------------------------------------------------------------------------------------
# Personas: when each kind of customer signs up and orders
# ---------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """When a customer orders and when they show extra activity, in epoch seconds."""

    orders: list[int]
    active_until: int
    visit_bursts: list[tuple[int, int, int]] = field(default_factory=list)  # start, end, count
    abandoned_carts: list[tuple[int, int]] = field(default_factory=list)  # start, end


Planner = Callable[[_Dice, _Shop, int], _Plan]


@dataclass(frozen=True)
class Persona:
    """A kind of customer and the parameters of their behaviour."""

    name: str
    share: float
    signup_days_ago: tuple[float, float]
    planner: Planner
    price_tier: str = "any"
    basket_sizes: tuple[int, ...] = (55, 28, 11, 4, 2)  # weights of 1, 2, 3... items
    discount_taste: float = 0.15  # chance that an item bought outside the sales is discounted
    visits_per_month: tuple[float, float] = (1.0, 3.0)
    visits_before_order: int = 3
    open_rate: tuple[float, float] = (0.1, 0.35)
    click_rate: float = 0.2
    subscribe_rate: float = 0.6
    cart_abandon_rate: float = 0.05
    recommendation_click_rate: float = 0.05


def _spread(dice: _Dice, start: int, end: int, count: int) -> list[int]:
    return sorted(dice.moment(start, end) for _ in range(count))


def _days_ago(shop: _Shop, dice: _Dice, low: float, high: float) -> int:
    return shop.now - int(dice.uniform_float(low, high) * DAY)


def _plan_loyal(dice: _Dice, shop: _Shop, signup: int) -> _Plan:
    """Orders every few weeks up to the last few weeks; some hesitate now, browsing a lot."""
    gap = dice.uniform_float(21, 50) * DAY
    hesitating = dice.chance(0.15)
    moment = _days_ago(shop, dice, 31, 75) if hesitating else _days_ago(shop, dice, 0.2, 40)
    orders = []
    while moment > signup + HOUR:
        orders.append(moment)
        moment -= int(gap * dice.uniform_float(0.5, 1.5))
    bursts = [(shop.now - 29 * DAY, shop.now, dice.integer(8, 18))] if hesitating else []
    return _Plan(orders[::-1], shop.now, visit_bursts=bursts)


def _plan_bargain_hunter(dice: _Dice, shop: _Shop, signup: int) -> _Plan:
    """Small orders every month or two, the last one recent."""
    gap = dice.uniform_float(28, 60) * DAY
    moment = _days_ago(shop, dice, 0.5, 50)
    orders = []
    while moment > signup + HOUR:
        orders.append(moment)
        moment -= int(gap * dice.uniform_float(0.6, 1.4))
    return _Plan(orders[::-1], shop.now)


def _plan_big_spender(dice: _Dice, shop: _Shop, signup: int) -> _Plan:
    """One large order, sometimes two, at any time."""
    count = 1 if dice.chance(0.75) else 2
    return _Plan(_spread(dice, signup + HOUR, shop.now, count), shop.now)


def _plan_sale_shopper(dice: _Dice, shop: _Shop, signup: int) -> _Plan:
    """Buys during the sales; in the current sale either buys or abandons a cart."""
    plan = _Plan([], shop.now)
    for sale in shop.sales:
        is_current = sale == shop.current_sale
        first, last = max(sale[0], signup + HOUR), min(sale[1], shop.now)
        if first >= last:
            continue
        plan.visit_bursts.append((first, last, dice.integer(2, 6)))
        if dice.chance(0.55 if is_current else 0.7):
            for _ in range(1 if dice.chance(0.7) else 2):
                # Most sale orders come in the first days.
                plan.orders.append(first + int((last - first) * dice.towards_zero(2)))
        elif is_current and dice.chance(0.85):
            plan.abandoned_carts.append((first, last))
    before_current_sale = shop.current_sale[0] - HOUR if shop.current_sale else shop.now
    if before_current_sale > signup + HOUR:
        plan.orders += _spread(dice, signup + HOUR, before_current_sale, dice.integer(0, 2))
    plan.orders.sort()
    return plan


def _plan_occasional(dice: _Dice, shop: _Shop, signup: int) -> _Plan:
    """One to four orders at any time since sign-up."""
    count = dice.weighted(_OCCASIONAL_ORDER_COUNTS)
    return _Plan(_spread(dice, signup + HOUR, shop.now, count), shop.now)


_OCCASIONAL_ORDER_COUNTS = _WeightedTable(((1, 40), (2, 30), (3, 18), (4, 12)))


def _plan_lapsed(dice: _Dice, shop: _Shop, signup: int, days_ago: tuple[int, int],
                 earlier_orders: tuple[int, int]) -> _Plan:
    """A last order some days ago, a few before it, and little activity since."""
    signup_days_ago = (shop.now - signup) / DAY
    last = _days_ago(shop, dice, days_ago[0], min(days_ago[1], signup_days_ago - 1))
    count = dice.integer(*earlier_orders)
    orders = _spread(dice, signup + HOUR, last - DAY, count) if last - DAY > signup + HOUR else []
    return _Plan(orders + [last], min(shop.now, last + int(dice.uniform_float(2, 40) * DAY)))


def _plan_at_risk(dice: _Dice, shop: _Shop, signup: int) -> _Plan:
    """Bought a few times; the last order was 3 to 11 months ago."""
    return _plan_lapsed(dice, shop, signup, (95, 340), (1, 5))


def _plan_churned(dice: _Dice, shop: _Shop, signup: int) -> _Plan:
    """Bought once or a few times more than a year ago, then left."""
    return _plan_lapsed(dice, shop, signup, (372, HISTORY_DAYS), (0, 3))


def _plan_undecided(dice: _Dice, shop: _Shop, signup: int) -> _Plan:
    """Maybe bought long ago; browses a lot this month without buying."""
    count = dice.integer(0, 3)
    orders = _spread(dice, signup + HOUR, shop.now - 35 * DAY, count)
    burst = (shop.now - 29 * DAY, shop.now, dice.integer(10, 24))
    return _Plan(orders, shop.now, visit_bursts=[burst])


def _plan_new(dice: _Dice, shop: _Shop, signup: int) -> _Plan:
    """Signed up in the last month; looks around, has not bought yet."""
    return _Plan([], shop.now, visit_bursts=[(signup, shop.now, dice.integer(1, 8))])


def _plan_prospect(dice: _Dice, shop: _Shop, signup: int) -> _Plan:
    """Has an account (newsletter, wish list) but never bought."""
    return _Plan([], shop.now)


PERSONAS = (
    Persona("loyal", 0.10, (240, HISTORY_DAYS), _plan_loyal,
            discount_taste=0.1, visits_per_month=(2, 5), open_rate=(0.3, 0.6),
            subscribe_rate=0.85, recommendation_click_rate=0.06),
    Persona("bargain_hunter", 0.07, (150, HISTORY_DAYS), _plan_bargain_hunter,
            price_tier="budget", basket_sizes=(90, 10), discount_taste=0.6,
            visits_per_month=(2, 5), visits_before_order=5, open_rate=(0.3, 0.6),
            subscribe_rate=0.9, cart_abandon_rate=0.1),
    Persona("big_spender", 0.05, (20, HISTORY_DAYS), _plan_big_spender,
            price_tier="premium", basket_sizes=(0, 30, 35, 25, 10), discount_taste=0.05,
            visits_per_month=(0.3, 1.2), visits_before_order=1, open_rate=(0.05, 0.2),
            subscribe_rate=0.4),
    Persona("sale_shopper", 0.10, (60, HISTORY_DAYS), _plan_sale_shopper,
            discount_taste=0.5, visits_per_month=(0.5, 1.5), open_rate=(0.2, 0.5),
            subscribe_rate=0.8, cart_abandon_rate=0.08),
    Persona("occasional", 0.22, (5, HISTORY_DAYS), _plan_occasional),
    Persona("at_risk", 0.10, (200, HISTORY_DAYS), _plan_at_risk,
            visits_per_month=(1, 3), open_rate=(0.1, 0.3)),
    Persona("churned", 0.10, (400, HISTORY_DAYS), _plan_churned,
            visits_per_month=(0.5, 2), open_rate=(0.05, 0.2), subscribe_rate=0.4),
    Persona("undecided", 0.06, (45, HISTORY_DAYS), _plan_undecided,
            visits_per_month=(0.5, 2), cart_abandon_rate=0.12, recommendation_click_rate=0.15),
    Persona("new", 0.05, (0.2, 29), _plan_new,
            visits_per_month=(0, 0), open_rate=(0.3, 0.7), subscribe_rate=0.7,
            cart_abandon_rate=0.1, recommendation_click_rate=0.1),
    Persona("prospect", 0.15, (31, HISTORY_DAYS), _plan_prospect,
            visits_per_month=(0.2, 1), open_rate=(0.03, 0.2), subscribe_rate=0.5,
            recommendation_click_rate=0.08),
)
PERSONA_TABLE = _WeightedTable((p, p.share) for p in PERSONAS)


# ---------------------------------------------------------------------------------------------
# One customer
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _ascii_slug(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.lower())
    return "".join(c for c in decomposed if c.isascii() and c.isalnum())


def _identity(dice: _Dice, customer_id: int) -> dict:
    code, _, languages, _ = dice.weighted(COUNTRY_TABLE)
    language = languages[dice.integer(0, len(languages) - 1)]
    city = dice.weighted(CITY_TABLES[code])
    first = FIRST_NAMES[language][dice.integer(0, len(FIRST_NAMES[language]) - 1)]
    last = LAST_NAMES[language][dice.integer(0, len(LAST_NAMES[language]) - 1)]
    if dice.chance(0.02):
        first = last = None
    if dice.chance(0.03):
        code = city = None
    elif dice.chance(0.02):
        city = None
    return {"first_name": first, "last_name": last, "email": _email(dice, customer_id, first, last),
            "country": code, "city": city}


def _email(dice: _Dice, customer_id: int, first: str | None, last: str | None) -> str:
    domain = EMAIL_DOMAINS[dice.integer(0, len(EMAIL_DOMAINS) - 1)]
    if first is None:
        return f"client{customer_id}@{domain}"
    first, last = _ascii_slug(first), _ascii_slug(last)
    style = dice.integer(0, 3)
    local = (f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last[0]}", f"{last}.{first}")[style]
    return f"{local}{customer_id}@{domain}"  # the id keeps every address unique


def _birth_date(dice: _Dice, shop: _Shop) -> str | None:
    if dice.chance(0.35):
        return None
    age_days = int(365.25 * (18 + 62 * dice.towards_zero(2)))
    return (dt.date(1970, 1, 1) + dt.timedelta(days=shop.now // DAY - age_days)).isoformat()


_SALE_DISCOUNTS = (20, 30, 40, 50)  # percent off
_PROMO_DISCOUNTS = (10, 15, 20, 25)


def _order(dice: _Dice, shop: _Shop, persona: Persona, favourite: str, at: int) -> dict:
    in_sale = shop.in_sale(at)
    discount_chance = max(0.6, persona.discount_taste) if in_sale else persona.discount_taste
    discounts = _SALE_DISCOUNTS if in_sale else _PROMO_DISCOUNTS
    size = 1 + dice.weighted(_basket_table(persona.basket_sizes))
    items, total_cents = [], 0
    for _ in range(size):
        category = favourite if dice.chance(0.5) else dice.weighted(CATEGORY_TABLE)
        sku = shop.catalog.pick(dice, persona.price_tier, category)
        cents, discounted = sku.cents, dice.chance(discount_chance)
        if discounted:
            percent = discounts[dice.integer(0, len(discounts) - 1)]
            cents = (cents * (100 - percent) + 50) // 100
        total_cents += cents
        items.append({"sku": sku.code, "category": sku.category, "price": cents / 100,
                      "discounted": discounted})
    return {"at": shop.iso(at), "total": total_cents / 100, "items": items}


@lru_cache(maxsize=None)
def _basket_table(weights: tuple[int, ...]) -> _WeightedTable:
    return _WeightedTable(enumerate(weights))


def _visits_between(dice: _Dice, start: int, end: int, count: int) -> list[int]:
    """Moments in [start, end], at hours of the day when people shop when possible."""
    random, hours, span = dice.random, _HOUR_BY_DRAW, end - start + 1
    visits = []
    for _ in range(count):  # the hottest loop of the generator: plain random() calls
        moment = start + int(random() * span)
        shaped = moment - moment % DAY + hours[int(random() * len(hours))] + int(random() * HOUR)
        visits.append(shaped if start <= shaped <= end else moment)
    return visits


# Start of the hour of a visit, looked up by a uniform draw: faster than a weighted pick.
_HOUR_BY_DRAW = tuple(hour * HOUR for hour, weight in enumerate(HOUR_WEIGHTS)
                      for _ in range(weight))


def _browsing_visits(dice: _Dice, shop: _Shop, persona: Persona, plan: _Plan,
                     signup: int) -> list[int]:
    """Visits not tied to an order: the persona's habit, a trickle once lapsed, bursts."""
    rate = dice.uniform_float(*persona.visits_per_month) / MONTH
    active = dice.count(rate * (plan.active_until - signup))
    visits = _visits_between(dice, signup, plan.active_until, active)
    lapsed = dice.count(0.1 * rate * (shop.now - plan.active_until))
    visits += _visits_between(dice, plan.active_until, shop.now, lapsed)
    for start, end, count in plan.visit_bursts:
        visits += _visits_between(dice, start, end, count)
    return visits


def _order_visits(dice: _Dice, persona: Persona, orders: list[int], signup: int) -> list[int]:
    """The visit in which each order was placed, and a few in the days before it."""
    visits = []
    for at in orders:
        visits.append(max(signup, at - dice.integer(2 * MINUTE, 30 * MINUTE)))
        for _ in range(dice.integer(0, persona.visits_before_order)):
            visits.append(max(signup, at - dice.integer(HOUR, 3 * DAY)))
    return visits


def _follow_ups(dice: _Dice, shop: _Shop, visits: list[int], probability: float,
                delay: tuple[int, int], kind: str) -> list[tuple[int, str]]:
    """Events that some of the visits lead to, a few minutes later."""
    random, shortest, spread = dice.random, delay[0], delay[1] - delay[0] + 1
    return [(min(shop.now, at + shortest + int(random() * spread)), kind)
            for at in visits if random() < probability]


def _site_events(dice: _Dice, shop: _Shop, persona: Persona, plan: _Plan,
                 signup: int) -> list[tuple[int, str]]:
    browsing = _browsing_visits(dice, shop, persona, plan, signup)
    buying = _order_visits(dice, persona, plan.orders, signup)
    events = [(at, "visit") for at in browsing + buying]
    events += _follow_ups(dice, shop, browsing + buying, persona.recommendation_click_rate,
                          (MINUTE, 10 * MINUTE), "recommendation_click")
    # The visit of an order ended in a purchase, so only browsing abandons carts.
    events += _follow_ups(dice, shop, browsing, persona.cart_abandon_rate,
                          (3 * MINUTE, 25 * MINUTE), "cart_abandoned")
    for start, end in plan.abandoned_carts:
        [at] = _visits_between(dice, start, max(start, end - 30 * MINUTE), 1)
        abandoned = min(shop.now, at + dice.integer(3 * MINUTE, 25 * MINUTE))
        events += [(at, "visit"), (abandoned, "cart_abandoned")]
    return events


def _email_events(dice: _Dice, shop: _Shop, persona: Persona, plan: _Plan, signup: int,
                  mailed_until: int) -> list[tuple[int, str]]:
    """Opens and clicks of the welcome e-mail and the campaigns sent while subscribed."""
    open_rate = dice.uniform_float(*persona.open_rate)
    welcome = signup + MINUTE
    first = bisect.bisect_left(shop.campaigns, welcome)
    last = bisect.bisect_right(shop.campaigns, mailed_until)
    sends = ([welcome] if welcome <= mailed_until else []) + shop.campaigns[first:last]
    random, events = dice.random, []
    for sent in sends:
        # Lapsed customers mostly ignore the shop's e-mails.
        if random() >= (open_rate if sent <= plan.active_until else open_rate / 4):
            continue
        opened = sent + 5 * MINUTE + int(2 * DAY * dice.towards_zero(3))
        if opened > shop.now:
            continue
        events.append((opened, "email_open"))
        if dice.chance(persona.click_rate):
            events.append((min(shop.now, opened + dice.integer(5, 5 * MINUTE)), "email_click"))
    return events


def _mailed_until(dice: _Dice, shop: _Shop, persona: Persona, signup: int) -> tuple[bool, int]:
    """Whether the customer is subscribed now, and until when they received e-mails."""
    if dice.chance(persona.subscribe_rate):
        return True, shop.now
    if dice.chance(0.6):
        return False, dice.moment(signup, shop.now)
    return False, signup


def _loyalty_points(dice: _Dice, spent_cents: int, has_orders: bool) -> int | None:
    if not dice.chance(0.7 if has_orders else 0.3):
        return None
    earned = 50 + spent_cents // 100  # welcome bonus, then a point per euro
    return earned - 500 * dice.integer(0, earned // 500)  # minus the vouchers redeemed


def _tags(dice: _Dice, spent_cents: int) -> list[str]:
    tags = ["vip"] if spent_cents >= VIP_MIN_SPENT_CENTS else []
    return tags + [tag for tag, probability in TAGS if dice.chance(probability)]


def _customer(shop: _Shop, customer_id: int) -> dict:
    dice = _Dice((shop.seed << 40) | customer_id)
    persona = dice.weighted(PERSONA_TABLE)
    record = {"id": customer_id, **_identity(dice, customer_id)}
    record["birth_date"] = _birth_date(dice, shop)
    signup = max(shop.start, _days_ago(shop, dice, *persona.signup_days_ago))
    plan = persona.planner(dice, shop, signup)
    favourite = dice.weighted(CATEGORY_TABLE)
    orders = [_order(dice, shop, persona, favourite, at) for at in plan.orders]
    subscribed, mailed_until = _mailed_until(dice, shop, persona, signup)
    events = _site_events(dice, shop, persona, plan, signup)
    events += _email_events(dice, shop, persona, plan, signup, mailed_until)
    events.sort()
    spent_cents = sum(round(order["total"] * 100) for order in orders)
    record.update(
        signed_up_at=shop.iso(signup),
        email_subscribed=subscribed,
        preferred_channel=dice.weighted(CHANNEL_TABLE),
        loyalty_points=_loyalty_points(dice, spent_cents, bool(orders)),
        tags=_tags(dice, spent_cents),
        orders=orders,
        events=shop.event_records(events),
    )
    return record


def generate_customers(n: int, seed: int = DEFAULT_SEED, now: str | dt.datetime = DEFAULT_NOW,
                       first_id: int = 1) -> Iterator[dict]:
    """Yield customers one at a time, so millions never sit in memory together.

    Args:
        n: how many customers to make.
        seed: non-negative integer; the same seed and `now` always give the same customers.
        now: the moment the data is a snapshot of (ISO 8601 text or datetime); nothing in the
            data is later, and history goes back 730 days from it.
        first_id: id of the first customer; ids are consecutive. A customer depends only on
            seed, now and id, so ranges can be generated separately and concatenated.

    Yields:
        Customer records (dicts) in the shape described in the module docstring.
    """
    if first_id < 1 or first_id + n > 1 << 40:
        raise ValueError("customer ids must lie between 1 and 2**40")
    shop = _Shop(seed, now)
    for customer_id in range(first_id, first_id + n):
        yield _customer(shop, customer_id)


# ---------------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------------


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "|".join(value)
    return str(value)


class _JsonlSink:
    def __init__(self, directory: Path):
        self.file = open(directory / "customers.jsonl", "w", encoding="utf-8", newline="\n")

    def write(self, customer: dict) -> None:
        self.file.write(json.dumps(customer, ensure_ascii=False, separators=(",", ":")))
        self.file.write("\n")

    def close(self) -> None:
        self.file.close()


class _CsvSink:
    def __init__(self, directory: Path):
        self.files = [
            open(directory / name, "w", encoding="utf-8", newline="")
            for name in ("customers.csv", "orders.csv", "events.csv")
        ]
        self.customers, self.orders = (csv.writer(f, lineterminator="\n") for f in self.files[:2])
        self.events_file = self.files[2]
        self.customers.writerow(CUSTOMER_COLUMNS)
        self.orders.writerow(ORDER_COLUMNS)
        self.events_file.write(",".join(EVENT_COLUMNS) + "\n")

    def write(self, customer: dict) -> None:
        customer_id = customer["id"]
        self.customers.writerow([_cell(customer[column]) for column in CUSTOMER_COLUMNS])
        self.orders.writerows(
            (customer_id, f"{customer_id}-{number}", order["at"], order["total"],
             item["sku"], item["category"], item["price"], _cell(item["discounted"]))
            for number, order in enumerate(customer["orders"], start=1)
            for item in order["items"]
        )
        # Events are most of the output and their cells never need quoting (a word and a
        # timestamp), so they skip the csv module, three times slower here.
        self.events_file.write(
            "".join([f"{customer_id},{e['type']},{e['at']}\n" for e in customer["events"]]))

    def close(self) -> None:
        for file in self.files:
            file.close()


def write_dataset(customers: Iterable[dict], directory: str | Path,
                  output_format: str = "jsonl") -> int:
    """Stream customers to files in one pass, whatever the formats.

    Args:
        customers: records, e.g. from generate_customers (consumed once).
        directory: created if missing; existing files of the format are overwritten.
        output_format: "jsonl" (customers.jsonl), "csv" (customers.csv, orders.csv,
            events.csv) or "both".

    Returns:
        The number of customers written.
    """
    if output_format not in FORMATS:
        raise ValueError(f"output_format must be one of {FORMATS}, not {output_format!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    sinks = []
    try:
        if output_format in ("jsonl", "both"):
            sinks.append(_JsonlSink(directory))
        if output_format in ("csv", "both"):
            sinks.append(_CsvSink(directory))
        count = 0
        for customer in customers:
            for sink in sinks:
                sink.write(customer)
            count += 1
        return count
    finally:
        for sink in sinks:
            sink.close()


def write_jsonl(customers: Iterable[dict], directory: str | Path) -> int:
    """Write directory/customers.jsonl; returns the number of customers."""
    return write_dataset(customers, directory, "jsonl")


def write_csv(customers: Iterable[dict], directory: str | Path) -> int:
    """Write directory/customers.csv, orders.csv and events.csv; returns the number of customers."""
    return write_dataset(customers, directory, "csv")


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Generate a deterministic online shop customer base for segdsl.")
    parser.add_argument("--customers", type=int, required=True, metavar="N",
                        help="number of customers")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"random seed, a non-negative integer (default {DEFAULT_SEED})")
    parser.add_argument("--now", default=DEFAULT_NOW,
                        help=f"moment of the snapshot, ISO 8601 (default {DEFAULT_NOW})")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument("--format", choices=FORMATS, default="jsonl", dest="output_format",
                        help="jsonl, csv or both (default jsonl)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _arguments(argv)
    if args.customers < 0 or args.seed < 0:
        print("error: --customers and --seed must not be negative", file=sys.stderr)
        return 2
    try:
        now = parse_timestamp(args.now)
    except ValueError:
        print(f"error: --now {args.now!r} is not an ISO 8601 date or datetime", file=sys.stderr)
        return 2
    started = time.perf_counter()
    customers = generate_customers(args.customers, seed=args.seed, now=now)
    count = write_dataset(customers, args.out, args.output_format)
    elapsed = time.perf_counter() - started
    print(f"wrote {count} customers ({args.output_format}) to {args.out} in {elapsed:.1f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
