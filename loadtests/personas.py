"""One Locust user class per subsystem persona; task weights from docs/load-mix.md.

Every response is validated (status and body): a 200 with the wrong body is a failure.
Parameterised URLs are grouped with `name=`; writes are named `POST …` and kept to the
weights of the mix. Each task carries its subsystem's tag (`--tags oa` runs only OA).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import quote

import gevent
import gevent.ssl
from locust import FastHttpUser, tag, task
from locust.contrib.fasthttp import ResponseContextManager

from loadtests import pacing

DISTRICTS = [
    "huangpu",
    "xuhui",
    "changning",
    "jingan",
    "putuo",
    "hongkou",
    "yangpu",
    "minhang",
    "baoshan",
    "jiading",
    "pudong",
    "jinshan",
    "songjiang",
    "qingpu",
    "fengxian",
    "chongming",
]
INDUSTRIES = [
    "manufacturing",
    "it",
    "finance",
    "biomedicine",
    "logistics",
    "tourism",
    "agriculture",
    "culture",
    "energy",
    "real_estate",
]
STAGES = ("intention", "negotiation", "signed", "construction", "operating")
KEYWORDS = ("CIIE", "AI", "5G", "FTZ", "Smart City", "GDP", "合作", "投资")
PERIODS = tuple(f"{y}-{m:02d}" for y in range(2015, 2019) for m in range(1, 13))


def ca_context_factory(ca_file: str) -> Callable[..., gevent.ssl.SSLContext]:
    """TLS contexts that verify the platform's certificate against ca_file (or the system)."""

    def factory(**_: Any) -> gevent.ssl.SSLContext:
        return gevent.ssl.create_default_context(cafile=ca_file or None)

    return factory


def _json(resp: ResponseContextManager) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def _is_page(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and isinstance(body.get("items"), list)
        and isinstance(body.get("total"), int)
    )


class PlatformUser(FastHttpUser):
    """Common to the personas: TLS verified (the inventory's CA), bounded timeouts, checks."""

    abstract = True
    subsystem: ClassVar[str] = ""
    insecure = False
    ssl_context_factory = staticmethod(ca_context_factory(""))  # --ca-cert at init
    network_timeout = 30.0
    connection_timeout = 10.0
    # Pacing: set from --user-rate at init (every persona runs at the same pace).
    POOL_MAX: ClassVar[int] = 1000

    def on_start(self) -> None:
        # The persona opens its list first. Detail requests pick ids this user has seen in
        # list answers (ids have gaps where inserts rolled back, so a guessed id may be 404).
        self.ids: list[int] = []
        # Open model: start at a random phase of the user's interval (no burst at spawn).
        # Locust's wait(), not gevent.sleep(): a user still waiting for its first slot when
        # the run ends is stopped at once; a sleep held every run's stop up to --stop-timeout
        # (4-10 s per run with no request in flight).
        if pacing.is_paced(self):
            self.wait()
        self.get_page(f"/api/{self.subsystem}/items?size=100", f"/api/{self.subsystem}/items")

    # -- checked requests ------------------------------------------------------------------

    def get_checked(self, path: str, name: str, ok: Callable[[Any], bool]) -> Any:
        with self.client.get(path, name=name, catch_response=True) as resp:
            body = _json(resp)
            if resp.status_code != 200:
                resp.failure(f"status {resp.status_code}: {str(resp.text)[:120]}")
            elif not ok(body):
                resp.failure(f"unexpected body: {str(resp.text)[:120]}")
            else:
                return body
        return None

    def get_page(self, path: str, name: str) -> Any:
        body = self.get_checked(path, name, _is_page)
        if body and name.endswith("/items"):
            seen = [i["id"] for i in body["items"] if isinstance(i, dict) and "id" in i]
            self.ids = (self.ids + seen)[-self.POOL_MAX :]
        return body

    def get_item(self, slug: str, item_id: int) -> Any:
        return self.get_checked(
            f"/api/{slug}/items/{item_id}",
            f"/api/{slug}/items/{{id}}",
            lambda b: isinstance(b, dict) and b.get("id") == item_id,
        )

    def get_stats(self, path: str, name: str, key: str = "total") -> Any:
        return self.get_checked(path, name, lambda b: isinstance(b, dict) and key in b)

    def search(self, slug: str) -> Any:
        keyword = random.choice(KEYWORDS)
        return self.get_page(
            f"/api/{slug}/search?q={quote(keyword)}&size=20", f"/api/{slug}/search"
        )

    def create(self, slug: str, body: dict[str, Any]) -> int | None:
        path = f"/api/{slug}/items"
        with self.client.post(
            path, json=body, name=f"{path} (create)", catch_response=True
        ) as resp:
            data = _json(resp)
            if resp.status_code != 201:
                resp.failure(f"status {resp.status_code}: {str(resp.text)[:120]}")
            elif not (isinstance(data, dict) and isinstance(data.get("id"), int)):
                resp.failure(f"unexpected body: {str(resp.text)[:120]}")
            else:
                return int(data["id"])
        return None

    def some_id(self) -> int:
        return random.choice(self.ids) if self.ids else 1


class PublishingReader(PlatformUser):
    """Public readers and the editor: 88 % of the platform's traffic."""

    subsystem = "publishing"

    def recent_id(self) -> int:
        # Reads skew to recent articles, as in the seed: the cube pulls toward the newest.
        ordered = sorted(set(self.ids))
        if not ordered:
            return 1
        return ordered[len(ordered) - 1 - int(len(ordered) * random.random() ** 3)]

    @tag("publishing")
    @task(665)
    def read_article(self) -> None:
        self.get_item("publishing", self.recent_id())

    @tag("publishing")
    @task(222)
    def list_category(self) -> None:
        category = random.choice(("news", "policy", "cooperation", "assistance", "investment"))
        page = random.randint(1, 5)
        self.get_page(
            f"/api/publishing/items?category={category}&page={page}", "/api/publishing/items"
        )

    @tag("publishing")
    @task(67)
    def most_read(self) -> None:
        self.get_checked(
            "/api/publishing/most-read?from=2018-01-01&to=2018-12-31&limit=10",
            "/api/publishing/most-read",
            lambda b: isinstance(b, dict) and isinstance(b.get("items"), list) and b["items"],
        )

    @tag("publishing")
    @task(44)
    def search_articles(self) -> None:
        self.search("publishing")

    @tag("publishing")
    @task(2)
    def publish(self) -> None:
        self.create(
            "publishing", {"title": "负载测试 区域合作动态", "category": "news", "author": "locust"}
        )


class OaStaff(PlatformUser):
    """Office staff: inbox, document, approve or forward, new documents."""

    subsystem = "oa"
    users = 320

    def on_start(self) -> None:
        super().on_start()
        self.user_id = random.randint(1, self.users)
        self.pending: list[dict[str, Any]] = []

    def refill(self) -> None:
        body = self.get_page(f"/api/oa/inbox?user={self.user_id}&size=20", "/api/oa/inbox")
        self.pending = list(body["items"]) if body else []
        if not self.pending:  # nothing to do here: the next inbox is someone else's
            self.user_id = random.randint(1, self.users)

    @tag("oa")
    @task(299)
    def inbox(self) -> None:
        self.refill()

    @tag("oa")
    @task(299)
    def open_document(self) -> None:
        if not self.pending:
            self.refill()
        document = self.pending[0]["document_id"] if self.pending else self.some_id()
        body = self.get_checked(
            f"/api/oa/items/{document}",
            "/api/oa/items/{id}",
            lambda b: isinstance(b, dict) and b.get("id") == document and "steps" in b,
        )
        del body

    def act(self, action: str, to_user: int | None) -> None:
        if not self.pending:
            self.refill()
        if not self.pending:
            return
        step = self.pending.pop(0)["id"]
        body: dict[str, Any] = {"comment": "locust"}
        if to_user is not None:
            body["to_user"] = to_user
        with self.client.post(
            f"/api/oa/steps/{step}/{action}",
            json=body,
            name=f"/api/oa/steps/{{id}}/{action}",
            catch_response=True,
        ) as resp:
            data = _json(resp)
            if resp.status_code == 409 and isinstance(data, dict) and "not pending" in str(data):
                resp.success()  # another user acted first: correct by design (load-mix.md)
            elif resp.status_code != 200:
                resp.failure(f"status {resp.status_code}: {str(resp.text)[:120]}")
            elif not (isinstance(data, dict) and data.get("id") == step):
                resp.failure(f"unexpected body: {str(resp.text)[:120]}")

    @tag("oa")
    @task(272)
    def approve(self) -> None:
        # One approval in six ends the flow (326 of 1891 steps), the rest name the next.
        self.act("approve", None if random.random() < 326 / 1721 else self.next_user())

    @tag("oa")
    @task(27)
    def forward(self) -> None:
        self.act("forward", self.next_user())

    def next_user(self) -> int:
        return random.randint(1, self.users)

    @tag("oa")
    @task(52)
    def new_document(self) -> None:
        self.create(
            "oa",
            {
                "title": "负载测试 关于合作的函",
                "direction": random.choice(("received", "sent")),
                "created_by": self.user_id,
            },
        )

    @tag("oa")
    @task(52)
    def find_documents(self) -> None:
        if random.random() < 0.5:
            self.get_page("/api/oa/items?status=in_progress&size=20", "/api/oa/items")
        else:
            self.search("oa")


class SharingOffice(PlatformUser):
    """The regional offices read the notices of the others."""

    subsystem = "sharing"

    @tag("sharing")
    @task(615)
    def read_notice(self) -> None:
        self.get_item("sharing", self.some_id())

    @tag("sharing")
    @task(308)
    def list_notices(self) -> None:
        self.get_page(f"/api/sharing/items?page={random.randint(1, 5)}", "/api/sharing/items")

    @tag("sharing")
    @task(64)
    def search_notices(self) -> None:
        self.search("sharing")

    @tag("sharing")
    @task(13)
    def send_notice(self) -> None:
        self.create(
            "sharing",
            {
                "office_id": random.randint(1, 48),
                "title": "负载测试 长三角合作交流通知",
                "category": "cooperation",
                "body": "正文",
                "status": "published",
            },
        )


class IntakeRegistry(PlatformUser):
    """The registry of reports from the offices elsewhere."""

    subsystem = "intake"

    @tag("intake")
    @task(485)
    def read_report(self) -> None:
        self.get_item("intake", self.some_id())

    @tag("intake")
    @task(324)
    def list_reports(self) -> None:
        status = random.choice(("received", "processing", "closed"))
        self.get_page(
            f"/api/intake/items?office_id={random.randint(1, 30)}&status={status}",
            "/api/intake/items",
        )

    @tag("intake")
    @task(162)
    def register_report(self) -> None:
        self.create(
            "intake",
            {"office_id": random.randint(1, 30), "title": "负载测试 驻外办报送", "body": "内容"},
        )

    @tag("intake")
    @task(29)
    def stats(self) -> None:
        self.get_stats("/api/intake/stats", "/api/intake/stats")


class InvestmentStaff(PlatformUser):
    """District staff filtering and recording investment projects."""

    subsystem = "investment"

    @tag("investment")
    @task(615)
    def filter_projects(self) -> None:
        query = (
            f"district={random.choice(DISTRICTS)}&industry={random.choice(INDUSTRIES)}"
            f"&stage={random.choice(STAGES)}&min_amount={random.choice((0, 1000, 10000))}"
        )
        self.get_page(f"/api/investment/items?{query}", "/api/investment/items")

    @tag("investment")
    @task(307)
    def read_project(self) -> None:
        self.get_item("investment", self.some_id())

    @tag("investment")
    @task(61)
    def record_project(self) -> None:
        self.create(
            "investment",
            {
                "title": "负载测试 产业园项目",
                "district": random.choice(DISTRICTS),
                "industry": random.choice(INDUSTRIES),
                "stage": random.choice(STAGES),
                "amount": round(random.uniform(100, 100000), 2),
                "signed_on": "2018-05-01",
            },
        )

    @tag("investment")
    @task(17)
    def stats(self) -> None:
        self.get_stats("/api/investment/stats", "/api/investment/stats")


class ReportingStaff(PlatformUser):
    """Statistics staff: submissions by period and unit, period summaries."""

    subsystem = "reporting"
    last: dict[str, Any] | None = None

    @tag("reporting")
    @task(571)
    def list_submissions(self) -> None:
        period, unit = random.choice(PERIODS), random.randint(1, 440)
        body = self.get_page(
            f"/api/reporting/items?period={period}&unit_id={unit}", "/api/reporting/items"
        )
        if body and body["items"]:
            self.last = random.choice(body["items"])

    @tag("reporting")
    @task(286)
    def submit(self) -> None:
        if self.last is None:
            self.list_submissions()
        if self.last is None:
            return
        self.create(
            "reporting",
            {
                "unit_id": self.last["unit_id"],
                "period": "2019-01",
                "indicator": self.last["indicator"],
                "value": round(random.uniform(1, 10000), 2),
                "remark": "locust",
            },
        )

    @tag("reporting")
    @task(143)
    def period_summary(self) -> None:
        period = random.choice(PERIODS)
        self.get_stats(f"/api/reporting/stats?period={period}", "/api/reporting/stats")


PERSONAS: tuple[type[PlatformUser], ...] = (
    SharingOffice,
    IntakeRegistry,
    InvestmentStaff,
    PublishingReader,
    ReportingStaff,
    OaStaff,
)
