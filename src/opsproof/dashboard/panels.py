"""The dashboard's graphs: what each shows, in Chinese and English, and its PromQL.

The jobs and labels are the prometheus role's (instance = the inventory host name; the
blackbox probes also carry `subsystem`): blackbox_health, blackbox_read, node, jvm, postgres.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Query:
    expr: str
    legend: tuple[str, ...]  # label keys whose values name a series
    prefix: str = ""  # put before the legend (e.g. "max" for a limit line)


@dataclass(frozen=True)
class Panel:
    key: str
    title_zh: str
    title_en: str
    unit: str
    queries: tuple[Query, ...]
    y_min: float | None = 0.0
    y_max: float | None = None


PANELS: tuple[Panel, ...] = (
    Panel(
        "availability",
        "各子系统可用性（/health 探测成功率, 5 分钟窗口）",
        "Availability per subsystem (/health probes succeeding, 5 min window)",
        "%",
        (
            Query(
                "100 * avg by (subsystem) "
                '(avg_over_time(probe_success{job="blackbox_health"}[5m]))',
                ("subsystem",),
            ),
        ),
        y_min=0.0,
        y_max=100.0,
    ),
    Panel(
        "latency",
        "各子系统读请求 p95 耗时（经 nginx 的 HTTPS 探测, 5 分钟窗口）",
        "p95 duration of one read per subsystem (HTTPS probe through nginx, 5 min window)",
        "ms",
        (
            Query(
                "1000 * max by (subsystem) "
                '(quantile_over_time(0.95, probe_duration_seconds{job="blackbox_read"}[5m]))',
                ("subsystem",),
            ),
        ),
    ),
    Panel(
        "cpu",
        "主机 CPU 使用率",
        "Host CPU use",
        "%",
        (
            Query(
                '100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[2m])))',
                ("instance",),
            ),
        ),
        y_max=100.0,
    ),
    Panel(
        "memory",
        "主机内存使用率",
        "Host memory use",
        "%",
        (
            Query(
                "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)",
                ("instance",),
            ),
        ),
        y_max=100.0,
    ),
    Panel(
        "jvm_heap",
        "JVM 堆内存使用量",
        "JVM heap in use",
        "MB",
        (
            Query(
                'sum by (instance) (jvm_memory_used_bytes{area="heap"}) / 1048576'
                ' or sum by (instance) (jvm_memory_bytes_used{area="heap"}) / 1048576',
                ("instance",),
            ),
            Query(
                'sum by (instance) (jvm_memory_max_bytes{area="heap"}) / 1048576'
                ' or sum by (instance) (jvm_memory_bytes_max{area="heap"}) / 1048576',
                ("instance",),
                prefix="max",
            ),
        ),
    ),
    Panel(
        "pg_connections",
        "PostgreSQL 连接数",
        "PostgreSQL connections",
        "",
        (
            Query("sum by (instance) (pg_stat_database_numbackends)", ("instance",)),
            Query("max by (instance) (pg_settings_max_connections)", ("instance",), prefix="max"),
        ),
    ),
)
