"""The platform through nginx over HTTPS: every endpoint of the six subsystems, with content.

Everything goes to web01's address on the lab bridge and is verified against the lab CA,
as a user's browser would see it; nothing talks to Tomcat or PostgreSQL directly except
where a test needs the database's own view (row counts).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from .conftest import ADDRESS, STATE, Reprovision, Run, on, sh

pytestmark = pytest.mark.e2e
WEB = ADDRESS["web01"]
APP = ADDRESS["app01"]
BASE = f"https://{WEB}"
CA = STATE / "ca/ca.crt"
SLUGS = ("sharing", "intake", "investment", "publishing", "reporting", "oa")
# One list filter per subsystem, with the field of each item it constrains.
FILTERS: dict[str, tuple[str, str]] = {
    "sharing": ("category", "policy"),
    "intake": ("status", "closed"),
    "investment": ("district", "pudong"),
    "publishing": ("category", "news"),
    "reporting": ("period", "2018-06"),
    "oa": ("status", "completed"),
}
STATS_KEYS: dict[str, set[str]] = {
    "sharing": {"total", "offices", "by_category", "by_status", "by_office"},
    "intake": {"total", "by_status", "by_office", "by_year"},
    "investment": {"total", "total_amount", "by_district", "by_industry", "by_stage"},
    "publishing": {"total", "total_views", "by_category", "by_year", "top_read"},
    "reporting": {"total", "total_value", "units", "by_period", "by_unit", "by_status"},
    "oa": {"documents", "by_status", "by_direction", "by_year", "steps_by_status"},
}


@pytest.fixture(scope="module")
def api(provisioned: Run) -> Iterator[requests.Session]:
    session = requests.Session()
    # Only the lab CA, and no proxy or CA bundle from the environment (requests lets
    # REQUESTS_CA_BUNDLE override session.verify unless trust_env is off).
    session.trust_env = False
    session.verify = str(CA)
    yield session
    session.close()


def get(api: requests.Session, path: str, status: int = 200) -> Any:
    resp = api.get(BASE + path, timeout=30)
    assert resp.status_code == status, (path, resp.status_code, resp.text[:500])
    assert resp.headers["Content-Type"].startswith("application/json"), resp.headers
    return resp.json()


def post(api: requests.Session, path: str, body: dict[str, Any], status: int = 201) -> Any:
    resp = api.post(BASE + path, json=body, timeout=30)
    assert resp.status_code == status, (path, body, resp.status_code, resp.text[:500])
    return resp.json()


def first(api: requests.Session, slug: str) -> dict[str, Any]:
    items: list[dict[str, Any]] = get(api, f"/api/{slug}/items?size=1&sort=id,asc")["items"]
    assert items, slug
    return items[0]


def test_lab_ca_signs_the_certificate_and_http_redirects(api: requests.Session) -> None:
    assert CA.is_file()
    # Without the lab CA the certificate is not trusted ...
    with pytest.raises(requests.exceptions.SSLError):
        requests.Session().get(BASE + "/health", timeout=10, verify=True)
    # ... and plain HTTP is sent to HTTPS, path and query kept.
    resp = api.get(f"http://{WEB}/api/oa/items?size=1", allow_redirects=False, timeout=10)
    assert resp.status_code == 301
    assert resp.headers["Location"].endswith("/api/oa/items?size=1")
    assert resp.headers["Location"].startswith("https://")


def test_overall_health_does_a_database_round_trip(api: requests.Session) -> None:
    assert get(api, "/health") == {"status": "ok", "db": "ok", "subsystems": list(SLUGS)}
    root = get(api, "/")
    assert isinstance(root, dict)
    assert json.dumps(root)


@pytest.mark.parametrize("slug", SLUGS)
def test_subsystem_health(api: requests.Session, slug: str) -> None:
    assert get(api, f"/api/{slug}/health") == {"status": "ok", "subsystem": slug}


@pytest.mark.parametrize("slug", SLUGS)
def test_list_pages_and_sorts(api: requests.Session, slug: str) -> None:
    asc = get(api, f"/api/{slug}/items?page=2&size=5&sort=id,asc")
    assert (asc["page"], asc["size"]) == (2, 5)
    ids = [item["id"] for item in asc["items"]]
    assert len(ids) == 5
    assert ids == sorted(ids)
    assert len(set(ids)) == 5
    page1 = [
        item["id"] for item in get(api, f"/api/{slug}/items?page=1&size=5&sort=id,asc")["items"]
    ]
    assert max(page1) < min(ids)
    desc = get(api, f"/api/{slug}/items?size=3")
    desc_ids = [item["id"] for item in desc["items"]]
    assert desc_ids == sorted(desc_ids, reverse=True)
    assert desc["total"] == asc["total"] >= 1000
    assert desc_ids[0] >= asc["total"] // 2
    # Bad paging is a 400 with a reason, not a 500.
    assert "error" in get(api, f"/api/{slug}/items?page=0", status=400)
    assert "error" in get(api, f"/api/{slug}/items?sort=nope,asc", status=400)


@pytest.mark.parametrize("slug", SLUGS)
def test_list_filters(api: requests.Session, slug: str) -> None:
    field, value = FILTERS[slug]
    page = get(api, f"/api/{slug}/items?{field}={value}&size=50")
    assert page["items"], (slug, field, value)
    assert all(item[field] == value for item in page["items"]), page["items"][:3]
    assert 0 < page["total"] < get(api, f"/api/{slug}/items?size=1")["total"]


@pytest.mark.parametrize("slug", SLUGS)
def test_detail_matches_the_list_and_unknown_is_404(api: requests.Session, slug: str) -> None:
    item = first(api, slug)
    detail = get(api, f"/api/{slug}/items/{item['id']}")
    assert detail["id"] == item["id"]
    shared = set(item) & set(detail) - {"view_count"}
    assert {k: detail[k] for k in shared} == {k: item[k] for k in shared}
    assert "error" in get(api, f"/api/{slug}/items/999999999", status=404)


@pytest.mark.parametrize("slug", SLUGS)
def test_search_finds_by_keyword(api: requests.Session, slug: str) -> None:
    item = first(api, slug)
    keyword = item["unit_name"] if slug == "reporting" else item["title"]
    query = requests.utils.quote(keyword)
    page = get(api, f"/api/{slug}/search?size=20&sort=id,asc&q={query}")
    assert page["total"] >= 1
    # The item the keyword came from has the lowest id of all, so it comes first.
    assert page["items"][0]["id"] == item["id"]
    field = "unit_name" if slug == "reporting" else "title"
    assert all(keyword in hit[field] for hit in page["items"])
    assert get(api, f"/api/{slug}/search?q=zz-no-such-keyword-zz")["total"] == 0
    assert "error" in get(api, f"/api/{slug}/search?q=", status=400)


@pytest.mark.parametrize("slug", SLUGS)
def test_stats_aggregate_the_whole_table(api: requests.Session, slug: str) -> None:
    stats = get(api, f"/api/{slug}/stats")
    assert STATS_KEYS[slug] <= set(stats), sorted(stats)
    total = stats["documents"] if slug == "oa" else stats["total"]
    listed = get(api, f"/api/{slug}/items?size=1")["total"]
    # Other tests may add items between the two requests, never remove any.
    assert listed - 50 <= total <= listed


def _new_items(api: requests.Session) -> dict[str, dict[str, Any]]:
    sharing = first(api, "sharing")
    intake = first(api, "intake")
    reporting = first(api, "reporting")
    tag = f"e2e {time.time_ns()}"
    return {
        "sharing": {
            "office_id": sharing["office_id"],
            "title": f"{tag} 长三角合作交流通知",
            "category": "cooperation",
            "body": "正文",
            "status": "published",
        },
        "intake": {"office_id": intake["office_id"], "title": f"{tag} 驻外办报送", "body": "内容"},
        "investment": {
            "title": f"{tag} 临港产业园",
            "district": "pudong",
            "industry": "it",
            "amount": 12345.67,
            "stage": "signed",
            "signed_on": "2018-05-01",
        },
        "publishing": {"title": f"{tag} 区域合作动态", "category": "news", "author": "e2e"},
        "reporting": {
            "unit_id": reporting["unit_id"],
            "period": "2019-01",
            "indicator": reporting["indicator"],
            "value": 42.5,
            "remark": tag,
        },
        "oa": {"title": f"{tag} 关于合作的函", "direction": "received", "created_by": 7},
    }


def test_create_then_read_back_in_every_subsystem(api: requests.Session) -> None:
    for slug, body in _new_items(api).items():
        resp = api.post(f"{BASE}/api/{slug}/items", json=body, timeout=30)
        assert resp.status_code == 201, (slug, resp.text)
        new_id = resp.json()["id"]
        assert resp.headers["Location"].endswith(f"/api/{slug}/items/{new_id}")
        stored = get(api, f"/api/{slug}/items/{new_id}")
        for key, value in body.items():
            assert stored[key] == value, (slug, key, stored)


def test_invalid_bodies_are_refused(api: requests.Session) -> None:
    body = {"title": "x", "category": "news", "no_such_field": 1}
    assert "error" in post(api, "/api/publishing/items", body, status=400)
    resp = api.post(
        f"{BASE}/api/publishing/items",
        data="title=x",
        timeout=30,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 415, resp.text


def test_most_read_articles(api: requests.Session) -> None:
    page = get(api, "/api/publishing/most-read?from=2018-01-01&to=2018-12-31&limit=5")
    rows = page["items"]
    assert 1 <= len(rows) <= 5
    counts = [row["reads"] for row in rows]
    assert counts == sorted(counts, reverse=True)
    assert counts[0] > 0


def test_oa_workflow_inbox_forward_approve(api: requests.Session) -> None:
    doc = post(
        api,
        "/api/oa/items",
        {"title": "e2e 流转测试", "direction": "internal", "created_by": 7, "assignee_id": 8},
    )
    steps = get(api, f"/api/oa/items/{doc['id']}")["steps"]
    assert [s["assignee_id"] for s in steps] == [8]
    assert steps[0]["status"] == "pending"
    inbox = get(api, "/api/oa/inbox?user=8&size=100&page=1")
    total = inbox["total"]
    pages = (total + 99) // 100
    ids = {
        i["id"]
        for p in range(1, pages + 1)
        for i in get(api, f"/api/oa/inbox?user=8&size=100&page={p}")["items"]
    }
    assert steps[0]["id"] in ids
    forwarded = post(
        api,
        f"/api/oa/steps/{steps[0]['id']}/forward",
        {"to_user": 9, "comment": "请阅"},
        status=200,
    )
    assert forwarded["status"] == "forwarded"
    assert forwarded["document_status"] == "in_progress"
    approved = post(api, f"/api/oa/steps/{forwarded['next_step_id']}/approve", {}, status=200)
    assert approved["document_status"] == "completed"
    again = post(api, f"/api/oa/steps/{forwarded['next_step_id']}/approve", {}, status=409)
    assert "not pending" in again["error"]
    assert get(api, f"/api/oa/items/{doc['id']}")["status"] == "completed"
    assert "error" in get(api, "/api/oa/inbox?user=999999", status=404)


def test_nginx_access_log_records_request_and_upstream_time(api: requests.Session) -> None:
    marker = f"/api/sharing/items?size=1&marker={time.time_ns()}"
    get(api, marker)
    run = on(WEB, f"sudo -n grep -F {marker.split('=')[-1]} /var/log/nginx/platform-access.log")
    assert run.rc == 0, run.out
    entry = json.loads(run.out.splitlines()[-1])
    assert entry["status"] == 200
    assert float(entry["request_time"]) >= 0
    assert float(entry["upstream_response_time"]) >= 0
    assert entry["upstream_addr"] == f"{APP}:8080"


def test_second_provision_keeps_every_row(reprovisioned: Reprovision) -> None:
    assert reprovisioned.run.rc == 0, reprovisioned.run.out[-3000:]
    assert reprovisioned.counts_after == reprovisioned.counts_before
    big = {t: n for t, n in reprovisioned.counts_before.items() if n >= 1_000_000}
    assert {"publishing_access", "reporting_submission", "oa_flow_step"} <= set(big)


def _tomcat_pid() -> tuple[int, int]:
    run = on(APP, "systemctl show -p MainPID -p NRestarts --value tomcat10")
    assert run.rc == 0, run.out
    pid, restarts = run.out.split()
    return int(pid), int(restarts)


def test_killed_jvm_is_restarted_and_serves_again(api: requests.Session) -> None:
    pid, restarts = _tomcat_pid()
    assert pid > 0
    killed = on(APP, f"sudo -n kill -KILL {pid}")
    assert killed.rc == 0, killed.out
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if api.get(BASE + "/health", timeout=5).status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(1)
    else:
        pytest.fail("the platform did not answer /health within 180 s of the SIGKILL")
    new_pid, new_restarts = _tomcat_pid()
    assert new_pid not in (0, pid)
    assert new_restarts == restarts + 1
    assert get(api, "/api/oa/health") == {"status": "ok", "subsystem": "oa"}


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ("tomcat_heap_max_mb=4096", "tomcat_heap_max_mb=4096 does not fit on app01"),
        ("tomcat_datasource_max_total=0", "tomcat_datasource_max_total=0 must be"),
        (
            '{"nginx_tls_mode": "files", "nginx_tls_certificate": "/etc/ssl/nope.pem", '
            '"nginx_tls_certificate_key": "/etc/ssl/nope.key"}',
            "nginx_tls_certificate=/etc/ssl/nope.pem",
        ),
    ],
)
def test_bad_input_stops_every_host_before_any_change(
    provisioned: Run, extra: str, needle: str
) -> None:
    run = sh(".venv/bin/ansible-playbook", "playbooks/site.yml", "-e", extra)
    assert run.rc != 0
    assert needle in run.out, run.out[-3000:]
    recap = run.recap()
    assert set(recap) == set(ADDRESS), "every lab host is in the recap, stopped by the preflight"
    assert all(c["changed"] == 0 for c in recap.values()), recap
    # The run stopped in the preflight play: no role after it started.
    assert "TASK [baseline : Set the hostname]" not in run.out


def test_probe_times_every_endpoint_and_writes_valid_results(
    provisioned: Run, tmp_path: Path
) -> None:
    out = tmp_path / "probe.json"
    run = sh(".venv/bin/opsproof", "probe", "--rounds", "1", "--out", str(out))
    assert run.rc == 0, run.out[-2000:]
    assert sh(".venv/bin/opsproof", "results", "validate", str(out)).rc == 0
    doc = json.loads(out.read_text())
    assert doc["run"]["conditions"]["mode"] == "sequential"
    endpoints = {r["endpoint"] for r in doc["results"]}
    assert {f"/api/{slug}/search" for slug in SLUGS} <= endpoints
    assert all(r["value"] > 0 and r["samples"] == 1 for r in doc["results"])
